import { describe, expect, it } from 'vitest'
import { setLocale } from '@/i18n'
import {
  auditActionLabel,
  categoryName,
  dosageFormName,
  eventLabel,
  flattenCategories,
  keyLabel,
  memberLevelName,
  orderReasonLabel,
  packText,
  permissionLabel,
  roleDescription,
  roleLabel,
  shortId,
} from '@/utils/labels'

describe('order history reasons', () => {
  it('turns a reason carrying a payment number into a sentence', () => {
    expect(orderReasonLabel('paid P20260301123456')).toBe('支付成功（支付流水号 P20260301123456）')
    setLocale('en')
    expect(orderReasonLabel('paid P20260301123456')).toBe('payment received (transaction P20260301123456)')
    expect(orderReasonLabel('tracking SF123')).toBe('shipped (tracking number SF123)')
  })

  it('translates fixed reasons and keeps free text', () => {
    expect(orderReasonLabel('rx approved')).toBe('药师审核通过')
    expect(orderReasonLabel('包装破损，申请退款')).toBe('包装破损，申请退款')
    expect(orderReasonLabel('paid')).toBe('paid')
    expect(orderReasonLabel('')).toBe('')
  })
})

describe('product data words', () => {
  it('gives the usual dosage forms in English and keeps an unknown one', () => {
    expect(dosageFormName('颗粒剂')).toBe('颗粒剂')
    setLocale('en')
    expect(dosageFormName('颗粒剂')).toBe('Granules')
    expect(dosageFormName('胶囊剂')).toBe('Capsules')
    expect(dosageFormName('鼻用喷雾凝胶')).toBe('鼻用喷雾凝胶')
    expect(dosageFormName(null)).toBe('')
  })

  it('writes a pack with its unit, in English with a plural', () => {
    expect(packText(9, '袋')).toBe('9袋')
    setLocale('en')
    expect(packText(9, '袋')).toBe('9 sachets')
    expect(packText(1, '盒')).toBe('1 box')
    expect(packText(100, 'ml')).toBe('100 ml')
    expect(packText(3, '枚')).toBe('3 枚')
  })
})

describe('built-in words', () => {
  it('names audit actions, and shows an unknown one as it is', () => {
    expect(auditActionLabel('users.list')).toBe('查看用户列表')
    setLocale('en')
    expect(auditActionLabel('promotions.approve')).toBe('Approved a promotion')
    expect(auditActionLabel('something.new')).toBe('something.new')
  })

  it('translates built-in member levels and role descriptions, not ones staff changed', () => {
    setLocale('en')
    expect(memberLevelName(1, '银卡会员')).toBe('Silver member')
    expect(memberLevelName(1, '白银会员')).toBe('白银会员')
    expect(memberLevelName(9, '至尊会员')).toBe('至尊会员')
    expect(roleDescription({ name: 'pharmacist', description: '药师：审核处方、解答用药问题' })).toMatch(/^Pharmacist: /)
    expect(roleDescription({ name: 'pharmacist', description: '夜班药师' })).toBe('夜班药师')
    setLocale('zh-CN')
    expect(memberLevelName(0, '普通会员')).toBe('普通会员')
  })

  it('names roles, permissions and categories in the current language', () => {
    expect(roleLabel('service')).toBe('客服')
    expect(roleLabel('night_shift')).toBe('night_shift')
    expect(permissionLabel('rx:review')).toBe('审核处方')
    expect(permissionLabel('no:such', 'no:such')).toBe('no:such')
    const cat = { code: 'cold', name_zh: '感冒用药', name_en: 'Cold and flu', children: [] }
    expect(categoryName(cat)).toBe('感冒用药')
    setLocale('en')
    expect(categoryName(cat)).toBe('Cold and flu')
    expect(categoryName({ ...cat, name_en: '' })).toBe('感冒用药')
    expect(keyLabel('orderStatus', 'paid')).toBe('Paid')
    expect(keyLabel('orderStatus', 'teleported')).toBe('teleported')
  })
})

describe('helpers', () => {
  it('flattens a category tree, parents first', () => {
    const tree = [
      { code: 'a', name_zh: '甲', name_en: 'A', children: [{ code: 'a1', name_zh: '甲一', name_en: 'A1', children: [] }] },
      { code: 'b', name_zh: '乙', name_en: 'B', children: [] },
    ]
    expect(flattenCategories(tree)).toEqual([
      { code: 'a', label: '甲', depth: 0 },
      { code: 'a1', label: '甲一', depth: 1 },
      { code: 'b', label: '乙', depth: 0 },
    ])
  })

  it('names tracked calls and shortens ids', () => {
    expect(eventLabel({ type: 'track', event: 'Product Viewed' })).toBe('Product Viewed')
    expect(eventLabel({ type: 'page', name: 'Home' })).toBe('page:Home')
    expect(eventLabel({ type: 'identify' })).toBe('identify')
    expect(eventLabel({})).toBe('—')
    expect(shortId('0123456789abcdef')).toBe('01234567…')
    expect(shortId('0123456789')).toBe('0123456789')
  })
})
