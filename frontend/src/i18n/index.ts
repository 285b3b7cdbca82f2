import { createI18n } from 'vue-i18n'
import { setRequestLocale } from '@/api/client'
import zhCN from './zh-CN'
import en from './en'
import { segmentsEn, segmentsZh } from './segments'
import { modelsEn, modelsZh, personasEn, personasZh } from './models'

export const SUPPORTED_LOCALES = ['zh-CN', 'en'] as const
export type AppLocale = (typeof SUPPORTED_LOCALES)[number]

export const LOCALE_KEY = 'medreach.locale'
const DEFAULT_LOCALE: AppLocale = 'zh-CN'

function storedLocale(): AppLocale {
  try {
    const value = localStorage.getItem(LOCALE_KEY)
    if (value && (SUPPORTED_LOCALES as readonly string[]).includes(value)) return value as AppLocale
  } catch {
    /* storage unavailable */
  }
  return DEFAULT_LOCALE
}

const initial = storedLocale()

export const i18n = createI18n({
  legacy: false,
  locale: initial,
  fallbackLocale: DEFAULT_LOCALE,
  messages: {
    'zh-CN': { ...zhCN, segmentsPage: segmentsZh, personasPage: personasZh, modelsPage: modelsZh },
    en: { ...en, segmentsPage: segmentsEn, personasPage: personasEn, modelsPage: modelsEn },
  },
})

function applyLocale(locale: AppLocale) {
  document.documentElement.lang = locale
  setRequestLocale(locale)
}
applyLocale(initial)

export function currentLocale(): AppLocale {
  return i18n.global.locale.value as AppLocale
}

export function setLocale(locale: AppLocale): void {
  i18n.global.locale.value = locale
  try {
    localStorage.setItem(LOCALE_KEY, locale)
  } catch {
    /* storage unavailable */
  }
  applyLocale(locale)
}

export function toggleLocale(): void {
  setLocale(currentLocale() === 'zh-CN' ? 'en' : 'zh-CN')
}
