// Every unit test starts in Chinese (the default language) with a fresh localStorage.
import { beforeEach } from 'vitest'
import { setLocale } from '@/i18n'

beforeEach(() => {
  localStorage.clear()
  setLocale('zh-CN')
})
