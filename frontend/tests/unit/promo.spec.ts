import { describe, expect, it } from 'vitest'
import type { Adjustment, Promotion } from '@/api/types'
import { setLocale } from '@/i18n'
import {
  couponThreshold,
  couponValue,
  groupAdjustments,
  percentOffLabel,
  rulesText,
  scopeHint,
  stateTagType,
  yuanShort,
  zhe,
} from '@/utils/promo'

const promotion = (kind: Promotion['kind'], rules: Record<string, unknown>) => ({ kind, rules, flash: null })

describe('money words', () => {
  it('writes yuan short and percentages the way shoppers read them', () => {
    expect(yuanShort(5000)).toBe('50')
    expect(yuanShort(4990)).toBe('49.9')
    expect(yuanShort(1)).toBe('0.01')
    expect(zhe(5)).toBe('9.5')
    expect(zhe(20)).toBe('8')
    expect(percentOffLabel(5)).toBe('9.5折')
    setLocale('en')
    expect(percentOffLabel(5)).toBe('5% off')
  })

  it('describes coupons', () => {
    expect(couponValue({ kind: 'amount_off', amount_off_fen: 1000, percent_off: 0 })).toBe('¥10')
    expect(couponThreshold({ kind: 'amount_off', min_spend_fen: 9900, max_off_fen: 0 })).toBe('满99可用')
    expect(couponThreshold({ kind: 'amount_off', min_spend_fen: 0, max_off_fen: 0 })).toBe('无门槛')
    expect(couponThreshold({ kind: 'percent_off', min_spend_fen: 0, max_off_fen: 2000 })).toContain('20')
  })
})

describe('promotion rules', () => {
  it('summarises each kind on one line', () => {
    expect(rulesText(promotion('spend_tier', { tiers: [{ threshold_fen: 10000, off_fen: 1000 }, { threshold_fen: 20000, off_fen: 3000 }] }))).toBe(
      '满100减10 / 满200减30',
    )
    expect(rulesText(promotion('catalog_discount', { percent_off: 10 }))).toBe('9折')
    expect(rulesText(promotion('free_shipping', { threshold_fen: 5900 }))).toContain('59')
    expect(rulesText(promotion('member_price', { level_percent: { '1': 95, '2': 90 } }))).toBe('Lv1 9.5折 / Lv2 9折')
    expect(rulesText(promotion('flash_sale', {}))).toBe('')
  })

  it('says what a scope covers', () => {
    expect(scopeHint(null, (c) => c)).toBe('全场通用（处方药除外）')
    expect(scopeHint({ category_codes: ['cold'], brands: ['999'], product_ids: [] }, (c) => (c === 'cold' ? '感冒用药' : c))).toContain('感冒用药')
  })
})

describe('price breakdowns', () => {
  it('merges adjustments by what gave them and groups them', () => {
    const adjustments: Adjustment[] = [
      { source: 'promotion', source_id: 1, kind: 'line', label: '满减', amount_fen: -300, product_id: 1 },
      { source: 'promotion', source_id: 1, kind: 'line', label: '满减', amount_fen: -200, product_id: 2 },
      { source: 'coupon', source_id: 7, kind: 'order', label: '新人券', amount_fen: -500, product_id: null },
      { source: 'points', source_id: null, kind: 'order', label: '积分抵扣（100 积分）', amount_fen: -100, product_id: null },
    ] as Adjustment[]
    const groups = groupAdjustments(adjustments)
    expect(groups.promotion).toHaveLength(1)
    expect(groups.promotion[0].amount_fen).toBe(-500)
    expect(groups.coupon[0].label).toBe('新人券')
    expect(groups.points[0].amount_fen).toBe(-100)
    expect(groupAdjustments(null)).toEqual({ promotion: [], coupon: [], points: [] })
  })

  it('colours lifecycle states', () => {
    expect(stateTagType('running')).toBe('success')
    expect(stateTagType('paused')).toBe('danger')
    expect(stateTagType('ended')).toBe('info')
  })
})
