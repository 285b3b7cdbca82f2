import { i18n } from '@/i18n'

/** Human label for a role name: built-in roles are translated, custom ones shown as is. */
export function roleLabel(name: string): string {
  const key = `roleNames.${name}`
  return i18n.global.te(key) ? i18n.global.t(key) : name
}

/** Human label for a permission code, if we know one. */
export function permissionLabel(code: string, fallback = ''): string {
  const key = `permissionNames.${code.replace(/[^a-zA-Z0-9]/g, '_')}`
  return i18n.global.te(key) ? i18n.global.t(key) : fallback
}
