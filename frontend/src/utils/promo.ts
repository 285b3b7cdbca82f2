// Display helpers for promotions, coupons and price breakdowns.
import { i18n } from '@/i18n'
import type { Adjustment, Coupon, Promotion, Scope } from '@/api/types'
import { formatFen } from './money'

const t = (key: string, values?: Record<string, unknown>) =>
  values ? i18n.global.t(key, values) : i18n.global.t(key)

/** Fen → a short yuan number for labels: 5000 → "50", 4990 → "49.9", 1 → "0.01". */
export function yuanShort(fen: number): string {
  return String(Number((fen / 100).toFixed(2)))
}

/** `percent_off` 5 → 9.5 (折): the Chinese way of writing a percentage discount. */
export function zhe(percentOff: number): string {
  return String(Number(((100 - percentOff) / 10).toFixed(2)))
}

/** A percentage off as shoppers read it: "9.5折" in Chinese, "5% off" in English. */
export function percentOffLabel(percentOff: number): string {
  return t('promo.percentOff', { zhe: zhe(percentOff), pct: percentOff })
}

/** A price "percent" (what is paid, 95 = 95%): "9.5折" / "95% of price". */
export function pricePercentLabel(pricePercent: number): string {
  return percentOffLabel(100 - pricePercent)
}

/** The big value on a coupon: "¥10" or "9.5折". */
export function couponValue(c: Pick<Coupon, 'kind' | 'amount_off_fen' | 'percent_off'>): string {
  return c.kind === 'amount_off' ? `¥${yuanShort(c.amount_off_fen)}` : percentOffLabel(c.percent_off)
}

/** "满50可用" / "无门槛", plus the cap of a percentage coupon. */
export function couponThreshold(c: Pick<Coupon, 'kind' | 'min_spend_fen' | 'max_off_fen'>): string {
  const base = c.min_spend_fen > 0 ? t('promo.minSpend', { n: yuanShort(c.min_spend_fen) }) : t('promo.noThreshold')
  return c.kind === 'percent_off' && c.max_off_fen > 0 ? `${base} · ${t('promo.maxOff', { n: yuanShort(c.max_off_fen) })}` : base
}

export function scopeIsAll(scope: Partial<Scope> | null | undefined): boolean {
  return !scope || !(scope.product_ids?.length || scope.category_codes?.length || scope.brands?.length)
}

/** A short hint of what a coupon or promotion applies to. */
export function scopeHint(scope: Partial<Scope> | null | undefined, categoryName: (code: string) => string): string {
  if (scopeIsAll(scope)) return t('promo.scopeAll')
  const parts: string[] = []
  if (scope?.category_codes?.length) parts.push(scope.category_codes.map(categoryName).join('、'))
  if (scope?.brands?.length) parts.push(scope.brands.join('、'))
  if (scope?.product_ids?.length) parts.push(t('promo.scopeProducts', { n: scope.product_ids.length }))
  return t('promo.scopeSome', { what: parts.join(' / ') })
}

export type AdjustmentGroupKey = 'promotion' | 'coupon' | 'points'
export const ADJUSTMENT_GROUPS: AdjustmentGroupKey[] = ['promotion', 'coupon', 'points']

export interface MergedAdjustment {
  key: string
  source: string
  source_id: number | null
  kind: string
  label: string
  amount_fen: number
}

/**
 * Adjustments merged by what gave them (one row per promotion, coupon or points redemption, however
 * many lines it was spread over or applied to) and grouped 促销 / 优惠券 / 积分.
 */
export function groupAdjustments(adjustments: Adjustment[] | null | undefined): Record<AdjustmentGroupKey, MergedAdjustment[]> {
  const merged = new Map<string, MergedAdjustment>()
  for (const a of adjustments ?? []) {
    const key = `${a.source}|${a.source_id ?? ''}|${a.kind}|${a.source === 'points' ? '' : a.label}`
    const found = merged.get(key)
    if (found) found.amount_fen += a.amount_fen
    else merged.set(key, { key, source: a.source, source_id: a.source_id, kind: a.kind, label: a.label, amount_fen: a.amount_fen })
  }
  const groups: Record<AdjustmentGroupKey, MergedAdjustment[]> = { promotion: [], coupon: [], points: [] }
  for (const m of merged.values()) {
    const g: AdjustmentGroupKey = m.source === 'coupon' ? 'coupon' : m.source === 'points' ? 'points' : 'promotion'
    groups[g].push(m)
  }
  return groups
}

/** A coupon problem code → what to tell the shopper. */
export function couponProblemLabel(code: string | null | undefined): string {
  if (!code) return ''
  const key = `promo.couponProblems.${code}`
  return i18n.global.te(key) ? t(key) : code
}

/** A lifecycle state's tag colour. */
export function stateTagType(state: string): 'success' | 'warning' | 'info' | 'danger' | 'primary' {
  switch (state) {
    case 'running':
      return 'success'
    case 'in_review':
      return 'warning'
    case 'scheduled':
      return 'primary'
    case 'paused':
      return 'danger'
    default:
      return 'info'
  }
}

/** A promotion's rules as the API sends them; which fields are set depends on the kind. */
export interface PromotionRules {
  percent_off?: number
  amount_off_fen?: number
  threshold_fen?: number
  tiers?: { threshold_fen: number; off_fen: number }[]
  gift_product_id?: number
  gift_name?: string
  quantity?: number
  level_percent?: Partial<Record<'1' | '2' | '3', number>>
  product_id?: number
  sale_price_fen?: number
  sale_stock?: number
  per_user_limit?: number
}

export function rulesOf(p: Pick<Promotion, 'rules'>): PromotionRules {
  return p.rules as PromotionRules
}

/** A one-line summary of a promotion's rules ("满100减10 / 满200减30", "9.5折"). */
export function rulesText(p: Pick<Promotion, 'kind' | 'rules' | 'flash'>): string {
  const r = rulesOf(p)
  switch (p.kind) {
    case 'catalog_discount':
      return r.amount_off_fen ? t('adminPromo.summary.amountOff', { n: yuanShort(r.amount_off_fen) }) : percentOffLabel(r.percent_off ?? 0)
    case 'spend_tier':
      return (r.tiers ?? []).map((x) => t('adminPromo.summary.tier', { a: yuanShort(x.threshold_fen), b: yuanShort(x.off_fen) })).join(' / ')
    case 'spend_percent':
      return t('adminPromo.summary.spendPercent', { a: yuanShort(r.threshold_fen ?? 0), d: percentOffLabel(r.percent_off ?? 0) })
    case 'free_shipping':
      return t('adminPromo.summary.freeShipping', { a: yuanShort(r.threshold_fen ?? 0) })
    case 'gift':
      return t('adminPromo.summary.gift', { a: yuanShort(r.threshold_fen ?? 0), name: r.gift_name ?? `#${r.gift_product_id}`, n: r.quantity ?? 1 })
    case 'member_price':
      return Object.entries(r.level_percent ?? {})
        .map(([k, v]) => `Lv${k} ${pricePercentLabel(v)}`)
        .join(' / ')
    case 'flash_sale':
      return p.flash
        ? t('adminPromo.summary.flash', {
            name: p.flash.product_name,
            price: formatFen(p.flash.sale_price_fen),
            left: p.flash.remaining,
            stock: p.flash.sale_stock,
          })
        : ''
  }
  return ''
}
