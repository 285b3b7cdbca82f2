import type { FormItemRule } from 'element-plus'
import { i18n } from '@/i18n'

export const PHONE_RE = /^1[3-9]\d{9}$/
export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
export const ID_NUMBER_RE = /^\d{17}[\dXx]$/
export const POSTAL_CODE_RE = /^\d{6}$/
export const ROLE_NAME_RE = /^[a-z][a-z0-9_-]{1,63}$/
export const DIGITS_RE = /^\d+$/
export const PASSWORD_MIN = 8

const t = (key: string) => i18n.global.t(key)

// Messages are functions so they follow a language switch.
export function required(trigger: string | string[] = 'blur'): FormItemRule {
  return { required: true, trigger, validator: (_r, v, cb) => (isBlank(v) ? cb(new Error(t('validation.required'))) : cb()) }
}

export function pattern(re: RegExp, key: string, trigger: string | string[] = 'blur'): FormItemRule {
  return {
    trigger,
    validator: (_r, v, cb) => (isBlank(v) || re.test(String(v).trim()) ? cb() : cb(new Error(t(key)))),
  }
}

export function minLength(min: number, key: string, trigger: string | string[] = 'blur'): FormItemRule {
  return {
    trigger,
    validator: (_r, v, cb) => (isBlank(v) || String(v).length >= min ? cb() : cb(new Error(t(key)))),
  }
}

export function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0)
}
