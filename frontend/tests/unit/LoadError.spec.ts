import { describe, expect, it } from 'vitest'
import LoadError from '@/components/LoadError.vue'
import { setLocale } from '@/i18n'
import { mountApp } from './mountApp'

describe('LoadError', () => {
  it('says what went wrong and asks for a retry', async () => {
    const wrapper = mountApp(LoadError, { props: { message: '无法连接服务器' } })
    expect(wrapper.get('[data-testid="load-error"]').text()).toContain('加载失败')
    expect(wrapper.text()).toContain('无法连接服务器')
    await wrapper.get('[data-testid="load-error-retry"]').trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(1)
    wrapper.unmount()
  })

  it('fits in a line, in English, under its own test id', () => {
    setLocale('en')
    const wrapper = mountApp(LoadError, { props: { message: 'Cannot reach the server', inline: true, testid: 'coupons-error' } })
    expect(wrapper.get('[data-testid="coupons-error"]').classes()).toContain('load-error--inline')
    expect(wrapper.text()).toContain('Could not load: Cannot reach the server')
    expect(wrapper.find('[data-testid="coupons-error-retry"]').text()).toBe('Try again')
    wrapper.unmount()
  })
})
