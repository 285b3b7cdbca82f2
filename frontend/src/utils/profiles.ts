// Words for the profile store's values in the console: tag names, tag values (levels, RFM groups, city tiers,
// categories), the customer table's columns and their values (money, times, shares).
import { currentLocale, i18n } from '@/i18n'
import { formatDate, formatDateTime } from './format'
import { formatFen } from './money'

const RFM_GROUPS: Record<string, string> = {
  重要价值客户: 'importantValue',
  重要发展客户: 'importantDevelop',
  重要保持客户: 'importantKeep',
  重要挽留客户: 'importantWinBack',
  一般价值客户: 'generalValue',
  一般发展客户: 'generalDevelop',
  一般保持客户: 'generalKeep',
  一般挽留客户: 'generalWinBack',
}
/** The eight classic RFM groups, in the store's words (the API's rfm_group filter takes these). */
export const RFM_GROUP_NAMES = Object.keys(RFM_GROUPS)
export const AGE_BANDS = ['18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const

/** The customer list's filters as the page holds them. */
export interface CustomerFilters {
  rfm_group: string
  city_tier: number | null
  age_band: string
  /** Only customers with at least one paid order. */
  buyers: boolean
}

/** The filters as query parameters of GET /admin/profiles/customers (unset ones left out). */
export function customerFilterQuery(f: CustomerFilters): {
  rfm_group?: string
  city_tier?: number
  age_band?: string
  min_orders?: number
} {
  const query: { rfm_group?: string; city_tier?: number; age_band?: string; min_orders?: number } = {}
  if (f.rfm_group) query.rfm_group = f.rfm_group
  if (f.city_tier !== null && f.city_tier !== undefined && String(f.city_tier) !== '') query.city_tier = f.city_tier
  if (f.age_band) query.age_band = f.age_band
  if (f.buyers) query.min_orders = 1
  return query
}

const EVENTS: Record<string, string> = {
  'Page Viewed': 'pageViewed',
  'Products Searched': 'productsSearched',
  'Product List Viewed': 'productListViewed',
  'Product Viewed': 'productViewed',
  'Product Added': 'productAdded',
  'Product Removed': 'productRemoved',
  'Cart Viewed': 'cartViewed',
  'Checkout Started': 'checkoutStarted',
  'Order Placed': 'orderPlaced',
  'Order Completed': 'orderCompleted',
  'Order Refunded': 'orderRefunded',
  'Order Cancelled': 'orderCancelled',
  'Coupon Applied': 'couponApplied',
  'Prescription Submitted': 'prescriptionSubmitted',
  'Product Reviewed': 'productReviewed',
}

/** The events a rule or segment may count (the tracking plan's names). */
export const EVENT_NAMES = Object.keys(EVENTS)

function label(key: string, fallback: string): string {
  return i18n.global.te(key) ? i18n.global.t(key) : fallback
}

/** A catalogue entry's (or a tag value's) name in the current language. */
export function tagName(tag: { name_zh: string; name_en: string }): string {
  return currentLocale() === 'en' && tag.name_en ? tag.name_en : tag.name_zh
}

export function familyLabel(family: string): string {
  return label(`tags.families.${family}`, family)
}

export function kindLabel(kind: string): string {
  return label(`tags.kinds.${kind}`, kind)
}

export function rfmGroupLabel(group: string | null | undefined): string {
  if (!group) return '—'
  return RFM_GROUPS[group] ? label(`profiles.rfmGroups.${RFM_GROUPS[group]}`, group) : group
}

export function tierLabel(tier: number | string | null | undefined): string {
  return tier === null || tier === undefined || tier === '' ? '—' : label(`profiles.tiers.t${tier}`, String(tier))
}

export function eventName(event: string): string {
  return EVENTS[event] ? label(`profiles.events.${EVENTS[event]}`, event) : event
}

/** A tag's value as a person reads it: levels, RFM groups, tiers, genders, yes/no and categories in words. */
export function tagValueLabel(code: string, value: string | null, categoryName: (code: string) => string): string {
  if (value === null || value === '') return '—'
  if (code === 'rfm_group') return rfmGroupLabel(value)
  if (code === 'city_tier') return tierLabel(value)
  if (code === 'gender') return label(`account.genders.${value}`, value)
  if (code === 'top_category') return categoryName(value)
  if (value === 'true' || value === 'yes') return i18n.global.t('common.yes')
  if (value === 'false') return i18n.global.t('common.no')
  if (['low', 'medium', 'high'].includes(value)) return i18n.global.t(`profiles.levels.${value}`)
  return value
}

export function columnLabel(column: string): string {
  return label(`profiles.columns.${column}`, column)
}

/** A value of the customer table (or of a tag's evidence) for display. */
export function columnValue(column: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'boolean') return i18n.global.t(value ? 'common.yes' : 'common.no')
  if (column.endsWith('_fen') && typeof value === 'number') return formatFen(value)
  if (column.endsWith('_at') && typeof value === 'string') return formatDateTime(value)
  if (column.endsWith('_date') && typeof value === 'string') return formatDate(value)
  if (column === 'rfm_group' && typeof value === 'string') return rfmGroupLabel(value)
  if (column === 'city_tier') return tierLabel(value as number)
  if (column === 'gender' && typeof value === 'string') return label(`account.genders.${value}`, value)
  if (['price_sensitivity', 'churn_risk', 'p_alive', 'propensity_30d'].includes(column) && typeof value === 'number') {
    return `${(value * 100).toFixed(1)}%`
  }
  if (column.endsWith('_days') && typeof value === 'number') return i18n.global.t('profiles.days', { n: value.toFixed(1) })
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2)
  if (Array.isArray(value)) return value.length ? value.join('、') : '—'
  return String(value)
}

export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`
}

/** A tag's refresh schedule (cron, Beijing time) in words as the pipeline page writes them; null when it has none
 * (it is refreshed with every profile build). */
export function scheduleText(cron: string | null | undefined): string | null {
  if (!cron || !cron.trim()) return null
  const t = i18n.global.t
  const pad = (n: string) => n.padStart(2, '0')
  const [minute, hour, day, month, weekday] = cron.trim().split(/\s+/)
  const everyDay = day === '*' && month === '*' && weekday === '*'
  if (everyDay && hour === '*' && /^\*\/\d+$/.test(minute)) return t('pipeline.every.minutes', { n: minute.slice(2) })
  if (everyDay && hour === '*' && /^\d+$/.test(minute)) return t('pipeline.every.hourAt', { minute: pad(minute) })
  if (everyDay && /^\d+$/.test(hour) && /^\d+$/.test(minute))
    return t('pipeline.every.dayAt', { time: `${pad(hour)}:${pad(minute)}` })
  return t('pipeline.every.cron', { expr: cron.trim() })
}
