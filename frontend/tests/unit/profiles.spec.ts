// The profile store's words in the console (tag names, values, RFM groups, tiers, columns, schedules) in both
// languages, the customer list's filters as query parameters, and a rule tag's condition tree: read from the
// API's JSON into groups and rows, written back (money typed in yuan, sent in fen), and incomplete rows named.
import { afterEach, describe, expect, it } from 'vitest'
import { setLocale } from '@/i18n'
import {
  TreeInvalid,
  countRows,
  fromJson,
  newEvent,
  newField,
  newGroup,
  toJson,
  type FieldRow,
  type Group,
} from '@/utils/conditions'
import {
  AGE_BANDS,
  EVENT_NAMES,
  RFM_GROUP_NAMES,
  columnLabel,
  columnValue,
  customerFilterQuery,
  eventName,
  familyLabel,
  kindLabel,
  percent,
  rfmGroupLabel,
  scheduleText,
  tagName,
  tagValueLabel,
  tierLabel,
} from '@/utils/profiles'

const categories = (code: string) => ({ hypertension: '高血压' })[code] ?? code

afterEach(() => setLocale('zh-CN'))

describe('profile words', () => {
  it('names tags, families, kinds and RFM groups in both languages', () => {
    const tag = { name_zh: 'RFM 客户分群', name_en: 'RFM group' }
    expect([tagName(tag), familyLabel('consumption'), kindLabel('builtin'), rfmGroupLabel('重要挽留客户')]).toEqual([
      'RFM 客户分群',
      '消费',
      '内置',
      '重要挽留客户',
    ])
    setLocale('en')
    expect(tagName(tag)).toBe('RFM group')
    expect(tagName({ name_zh: '复购', name_en: '' })).toBe('复购') // no English name: the Chinese one
    expect(rfmGroupLabel('重要价值客户')).not.toBe('重要价值客户')
    expect([familyLabel('no_such_family'), rfmGroupLabel(null), rfmGroupLabel('新分群')]).toEqual([
      'no_such_family',
      '—',
      '新分群',
    ])
  })

  it('writes tag values as people read them', () => {
    expect(tagValueLabel('rfm_group', '重要价值客户', categories)).toBe('重要价值客户')
    expect(tagValueLabel('city_tier', '2', categories)).toBe('新一线城市')
    expect(tagValueLabel('top_category', 'hypertension', categories)).toBe('高血压')
    expect(tagValueLabel('churn_level', 'high', categories)).toBe('高')
    expect(tagValueLabel('is_minor', 'false', categories)).toBe('否')
    expect(tagValueLabel('aov_band', '50-100', categories)).toBe('50-100')
    expect(tagValueLabel('gender', null, categories)).toBe('—')
    expect([tierLabel(1), tierLabel(null), tierLabel(9)]).toEqual(['一线城市', '—', '9'])
  })

  it('writes the customer table’s values: money, shares, days, lists, yes and no', () => {
    expect(columnLabel('expected_value_12m_fen')).toBe('未来 12 个月预期价值')
    expect(columnLabel('unknown_column')).toBe('unknown_column')
    expect(columnValue('monetary_fen', 12345)).toContain('123.45')
    expect(columnValue('p_alive', 0.8766)).toBe('87.7%')
    expect(columnValue('purchase_interval_days', 12.25)).toBe('12.3 天')
    expect(columnValue('expected_orders_90d', 1.23456)).toBe('1.23')
    expect(columnValue('orders', 3)).toBe('3')
    expect(columnValue('top_brands', ['A', 'B'])).toBe('A、B')
    expect(columnValue('top_brands', [])).toBe('—')
    expect(columnValue('consent_health_profile', true)).toBe('是')
    expect(columnValue('rfm_group', null)).toBe('—')
    expect(percent(0.5)).toBe('50.0%')
    expect(percent(null)).toBe('—')
    expect(eventName('Order Completed')).toBe('支付订单')
    expect(eventName('Custom Thing')).toBe('Custom Thing')
    expect(EVENT_NAMES).toContain('Product Viewed')
  })

  it('says when a tag is refreshed', () => {
    expect(scheduleText(null)).toBeNull()
    expect(scheduleText(' ')).toBeNull()
    expect(scheduleText('0 6 * * *')).toBe('每天 06:00（北京时间）')
    expect(scheduleText('*/15 * * * *')).toBe('每 15 分钟')
    expect(scheduleText('0 6 * * 1')).toBe('cron 0 6 * * 1（北京时间）')
    setLocale('en')
    expect(scheduleText('30 4 * * *')).toContain('04:30')
  })

  it('turns the list’s filters into query parameters, leaving out what is unset', () => {
    expect(RFM_GROUP_NAMES).toHaveLength(8)
    expect(AGE_BANDS).toContain('65+')
    expect(customerFilterQuery({ rfm_group: '', city_tier: null, age_band: '', buyers: false })).toEqual({})
    expect(customerFilterQuery({ rfm_group: '重要价值客户', city_tier: 2, age_band: '25-34', buyers: true })).toEqual({
      rfm_group: '重要价值客户',
      city_tier: 2,
      age_band: '25-34',
      min_orders: 1,
    })
    // A cleared select leaves undefined behind.
    expect(customerFilterQuery({ rfm_group: '', city_tier: undefined as unknown as null, age_band: '', buyers: false })).toEqual({})
  })
})

describe('condition trees', () => {
  const json = {
    all: [
      { field: 'orders', op: 'ge', value: 3 },
      { field: 'monetary_fen', op: 'between', value: [10000, 50000] },
      { any: [{ tag: 'rfm_group', op: 'in', value: ['重要价值客户', '重要保持客户'] }, { tag: 'top_category' }] },
      { not: { event: 'Order Completed', within_days: 60 } },
      { event: 'Product Viewed', category: 'hypertension', min: 2, within_days: 30 },
    ],
  }

  it('reads a tree into groups and rows and writes the same tree back', () => {
    const tree = fromJson(json)
    expect(tree).not.toBeNull()
    const g = tree as Group
    expect(g.op).toBe('all')
    expect(countRows(g)).toBe(6)
    expect(g.children[1]).toMatchObject({ type: 'field', field: 'monetary_fen', op: 'between', value: '100, 500' })
    expect(g.children[2]).toMatchObject({ type: 'group', op: 'any' })
    expect((g.children[2] as Group).children[1]).toMatchObject({ type: 'tag', tag: 'top_category', op: 'exists' })
    expect(g.children[3]).toMatchObject({ type: 'event', event: 'Order Completed', negate: true, withinDays: 60 })
    expect(toJson(g)).toEqual({
      all: [
        { field: 'orders', op: 'ge', value: 3 },
        { field: 'monetary_fen', op: 'between', value: [10000, 50000] },
        { any: [{ tag: 'rfm_group', op: 'in', value: ['重要价值客户', '重要保持客户'] }, { tag: 'top_category', op: 'exists' }] },
        { not: { event: 'Order Completed', within_days: 60 } },
        { event: 'Product Viewed', category: 'hypertension', min: 2, within_days: 30 },
      ],
    })
  })

  it('puts a single condition in a group, and keeps NOT on groups', () => {
    const one = fromJson({ field: 'is_minor', op: 'eq', value: false }) as Group
    expect(one.children).toHaveLength(1)
    expect(toJson(one)).toEqual({ all: [{ field: 'is_minor', op: 'eq', value: false }] })
    const negated = fromJson({ not: { any: [{ field: 'age', op: 'lt', value: 30 }] } }) as Group
    expect(negated.negate).toBe(true)
    expect(toJson(negated)).toEqual({ not: { any: [{ field: 'age', op: 'lt', value: 30 }] } })
  })

  it('leaves to JSON what it cannot show', () => {
    expect(fromJson({ health: 'hypertension' })).toBeNull()
    expect(fromJson({ field: 'no_such_column', op: 'eq', value: 1 })).toBeNull()
    expect(fromJson({ all: [{ field: 'orders', op: 'ge', value: 1, extra: 1 }] })).toBeNull()
    expect(fromJson({ not: { not: { field: 'orders', op: 'ge', value: 1 } } })).toBeNull()
    expect(fromJson([1, 2])).toBeNull()
  })

  it('types money in yuan and lists with either comma, and names the first row that is not complete', () => {
    const money: FieldRow = { type: 'field', field: 'aov_fen', op: 'in', value: '50，100, 12.5', negate: false }
    expect(toJson(newGroup('any', [money]))).toEqual({ any: [{ field: 'aov_fen', op: 'in', value: [5000, 10000, 1250] }] })
    const problem = (g: Group) => {
      try {
        toJson(g)
      } catch (err) {
        return err instanceof TreeInvalid ? err.problem : err
      }
      return null
    }
    expect(problem(newGroup('all', []))).toEqual({ key: 'emptyGroup', at: '1' })
    expect(problem(newGroup('all', [newField(), { ...newField(), value: 'many' }]))).toEqual({ key: 'notNumber', at: '1.2' })
    expect(problem(newGroup('all', [newGroup('any', [{ ...newField(), op: 'between', value: '9, 3' }])]))).toEqual({
      key: 'twoNumbers',
      at: '1.1.1',
    })
    expect(problem(newGroup('all', [{ ...newField(), field: 'gender', op: 'eq', value: ' ' }]))).toEqual({ key: 'noValue', at: '1.1' })
    expect(problem(newGroup('all', [{ ...newEvent(), event: '' }]))).toEqual({ key: 'noEvent', at: '1.1' })
    expect(toJson(newGroup('all', [{ ...newField(), op: 'is_null', value: '' }]))).toEqual({
      all: [{ field: 'orders', op: 'is_null' }],
    })
  })
})
