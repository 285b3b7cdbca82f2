import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { setLocale } from '@/i18n'
import { describeError } from '@/composables/useApiError'

const problem = (status: number, body: Record<string, unknown>) => new ApiError(status, body)

describe('describeError', () => {
  it('names a refusing state in words, never the raw code', () => {
    const err = problem(409, { code: 'COUPON_NOT_AVAILABLE', detail: '优惠券当前不可用（ended）', current: 'ended' })
    expect(describeError(err)).toBe('优惠券当前不可用（已结束）')
    setLocale('en')
    expect(describeError(err)).toBe('The coupon cannot be used now (Ended)')
  })

  it("names an already reviewed prescription's and moderated review's state in words", () => {
    const rx = problem(409, { code: 'PRESCRIPTION_ALREADY_REVIEWED', detail: '处方已审核（approved）', current: 'approved' })
    const review = problem(409, { code: 'REVIEW_ALREADY_MODERATED', detail: '评价已审核（rejected）', current: 'rejected' })
    expect(describeError(rx)).not.toContain('approved')
    setLocale('en')
    expect(describeError(rx)).toBe('This prescription has already been reviewed (Approved)')
    expect(describeError(review)).toBe('This review has already been moderated (Rejected)')
  })

  it('keeps the message without a state the UI has no word for', () => {
    const err = problem(409, { code: 'COUPON_NOT_AVAILABLE', detail: '优惠券当前不可用（not claimable）', current: 'not claimable' })
    expect(describeError(err)).toBe('优惠券当前不可用')
  })

  it("uses the backend's localised detail, the UI's words for a bare code, and says when the network is down", () => {
    expect(describeError(problem(404, { code: 'NOT_FOUND', detail: '资源不存在' }))).toBe('资源不存在')
    expect(describeError(problem(409, { code: 'OUT_OF_STOCK', detail: 'OUT_OF_STOCK' }))).toBe('库存不足')
    expect(describeError(problem(0, {}))).toMatch(/网络/)
    expect(describeError(new Error('boom'))).toBe('操作失败，请稍后重试')
  })

  it('adds errors about the body as a whole to the message', () => {
    const err = problem(422, {
      code: 'VALIDATION_ERROR',
      detail: '请求参数有误',
      errors: [{ field: 'body', code: 'x', message: '手机号和邮箱只能填一个' }, { field: 'phone', code: 'y', message: '格式不对' }],
    })
    expect(describeError(err)).toBe('请求参数有误: 手机号和邮箱只能填一个')
  })
})
