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

// The catalogue's dosage forms and pack units are Chinese words of the product data (剂型, 包装单位); the English
// page shows the English term for the usual ones and any other as written.
const DOSAGE_FORMS_EN: Record<string, string> = {
  片剂: 'Tablets',
  咀嚼片: 'Chewable tablets',
  阴道片: 'Vaginal tablets',
  胶囊剂: 'Capsules',
  软胶囊: 'Soft capsules',
  阴道软胶囊: 'Vaginal soft capsules',
  颗粒剂: 'Granules',
  丸剂: 'Pills',
  滴丸剂: 'Dropping pills',
  散剂: 'Powder',
  粉剂: 'Powder',
  口服液: 'Oral liquid',
  口服溶液剂: 'Oral solution',
  合剂: 'Mixture',
  糖浆剂: 'Syrup',
  混悬剂: 'Suspension',
  煎膏剂: 'Concentrated decoction',
  胶剂: 'Gelatin',
  酊剂: 'Tincture',
  注射剂: 'Injection',
  注射液: 'Injection',
  吸入剂: 'Inhalant',
  粉雾剂: 'Inhalation powder',
  气雾剂: 'Aerosol',
  喷雾剂: 'Spray',
  滴剂: 'Drops',
  滴眼液: 'Eye drops',
  滴耳剂: 'Ear drops',
  眼膏: 'Eye ointment',
  软膏: 'Ointment',
  乳膏: 'Cream',
  乳霜: 'Cream',
  乳液: 'Lotion',
  洗剂: 'Lotion',
  凝胶: 'Gel',
  膏体: 'Paste',
  贴剂: 'Patches',
  贴膏剂: 'Plasters',
  栓剂: 'Suppositories',
  灌肠剂: 'Enema',
  饮片: 'Decoction pieces',
  消毒液: 'Disinfectant',
  牙膏: 'Toothpaste',
  唇膏: 'Lip balm',
  花露水: 'Floral water',
  试纸: 'Test strips',
  器械: 'Device',
}
/** Singular and plural of a pack unit in English. */
const PACK_UNITS_EN: Record<string, [string, string]> = {
  片: ['tablet', 'tablets'],
  粒: ['capsule', 'capsules'],
  丸: ['pill', 'pills'],
  袋: ['sachet', 'sachets'],
  支: ['unit', 'units'],
  瓶: ['bottle', 'bottles'],
  盒: ['box', 'boxes'],
  贴: ['patch', 'patches'],
  条: ['strip', 'strips'],
  个: ['piece', 'pieces'],
  台: ['device', 'devices'],
  喷: ['spray', 'sprays'],
  揿: ['puff', 'puffs'],
}

/** A product's dosage form in the current language (the usual forms; any other as the catalogue wrote it). */
export function dosageFormName(form: string | null | undefined): string {
  if (!form) return ''
  return i18n.global.locale.value === 'en' ? (DOSAGE_FORMS_EN[form] ?? form) : form
}

/** A pack size with its unit: 9袋 in Chinese, "9 sachets" in English (g and ml as they are). */
export function packText(size: number | null | undefined, unit: string | null | undefined): string {
  if (size === null || size === undefined) return ''
  const u = unit ?? ''
  if (i18n.global.locale.value !== 'en') return `${size}${u}`
  const words = PACK_UNITS_EN[u]
  if (words) return `${size} ${size === 1 ? words[0] : words[1]}`
  return u ? `${size} ${u}` : String(size)
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
