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

/**
 * A text the API sends in Chinese for the built-in objects (role descriptions, member level names): when it is still
 * the built-in wording, the current language's version of it; a text staff changed is shown as they wrote it.
 */
export function builtinText(group: string, key: string | number, apiText: string): string {
  const k = `${group}.${key}`
  if (!i18n.global.te(k, 'zh-CN') || i18n.global.t(k, {}, { locale: 'zh-CN' }) !== apiText) return apiText
  return i18n.global.t(k)
}

/** A role's description in the current language (built-in roles). */
export function roleDescription(role: { name: string; description: string }): string {
  return builtinText('roleDescriptions', role.name, role.description)
}

/** A member level's name in the current language (the built-in levels 0-3). */
export function memberLevelName(level: number, name: string): string {
  return builtinText('memberLevels', level, name)
}

/** What an audit entry's action (`users.list`, `promotions.approve`) did, in words; the code when the UI has none. */
export function auditActionLabel(action: string): string {
  const key = `auditActions.${action}`
  return i18n.global.te(key) ? i18n.global.t(key) : action
}

/**
 * The reason of an order's status change in words: fixed reasons (`placed`, `rx approved`) are translated, reasons
 * carrying a value (`paid P2026…`, `tracking SF…`) become a sentence with it, free text (a refund reason) stays.
 */
export function orderReasonLabel(reason: string): string {
  if (!reason) return ''
  const fixed = `orders.reasons.${reason.replace(/ /g, '_')}`
  if (i18n.global.te(fixed)) return i18n.global.t(fixed)
  const [word, ...rest] = reason.split(' ')
  const withValue = `orders.reasonsWith.${word}`
  if (rest.length && i18n.global.te(withValue)) return i18n.global.t(withValue, { value: rest.join(' ') })
  return reason
}

/** A category's name in the current language (Chinese when there is no English name). */
export function categoryName(cat: { name_zh: string; name_en: string }): string {
  return i18n.global.locale.value === 'en' && cat.name_en ? cat.name_en : cat.name_zh
}

/** The UI's word for a code under an i18n group (`keyLabel('quality.statuses', 'failed')` → 未通过); the code itself
 * when the UI has none (a value added by the backend later). */
export function keyLabel(group: string, code: string): string {
  const key = `${group}.${code}`
  return i18n.global.te(key) ? i18n.global.t(key) : code
}

/** A problem code's message (cart line problems, order errors), if the UI knows one. */
export function problemLabel(code: string | null | undefined): string {
  if (!code) return ''
  const key = `errorCodes.${code}`
  return i18n.global.te(key) ? i18n.global.t(key) : code
}

/** A category tree flattened for a select: every node with its depth, parents first. */
export function flattenCategories<T extends { code: string; name_zh: string; name_en: string; children: T[] }>(
  tree: T[],
  depth = 0,
  out: { code: string; label: string; depth: number }[] = [],
): { code: string; label: string; depth: number }[] {
  for (const c of tree) {
    out.push({ code: c.code, label: categoryName(c), depth })
    flattenCategories(c.children, depth + 1, out)
  }
  return out
}

/** Save a Blob as a file through a temporary link. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/**
 * A tracked call's name in the console (and its `data-event`): the track event's name, `page:<name>` /
 * `screen:<name>` for named page and screen calls, else the call type (`identify`, `page`…).
 */
export function eventLabel(e: { type?: string | null; event?: string | null; name?: string | null }): string {
  if (e.event) return e.event
  if ((e.type === 'page' || e.type === 'screen') && e.name) return `${e.type}:${e.name}`
  return e.type || '—'
}

/** A long id cut to its first characters (the whole id goes in a tooltip). */
export function shortId(id: string, keep = 8): string {
  return id.length > keep + 2 ? `${id.slice(0, keep)}…` : id
}
