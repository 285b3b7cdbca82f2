// The membership page: a card or a ledger that fails to load says so with a retry (never an empty page or "no
// points yet"), and the retry loads it.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Membership, PointsEntry } from '@/api/types'
import MembershipView from '@/views/store/MembershipView.vue'
import { mountApp, settle } from './mountApp'

const api = vi.hoisted(() => ({ get: vi.fn(), points: vi.fn() }))
vi.mock('@/api/services', () => ({ membershipApi: api }))

const MEMBERSHIP: Membership = {
  level: 1,
  level_name: '银卡会员',
  spend_12m_fen: 60000,
  next_level_name: '金卡会员',
  next_level_at_fen: 200000,
  points: 120,
  levels: [
    { level: 0, name: '普通会员', threshold_fen: 0 },
    { level: 1, name: '银卡会员', threshold_fen: 50000 },
  ],
}
const ENTRY: PointsEntry = { id: 1, delta: 120, balance: 120, reason: 'earned', order_id: 7, at: '2026-03-01T02:00:00Z' }

beforeEach(() => {
  api.get.mockReset()
  api.points.mockReset()
})

describe('MembershipView', () => {
  it('says the ledger could not be loaded under a card that loaded, and loads it again on retry', async () => {
    api.get.mockResolvedValue(MEMBERSHIP)
    api.points.mockRejectedValueOnce(new Error('offline')).mockResolvedValue([ENTRY])
    const wrapper = mountApp(MembershipView, { global: { stubs: { RouterLink: true } } })
    await settle()
    expect(wrapper.find('[data-testid="membership-card"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="points-error"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="points-empty"]').exists()).toBe(false) // not "no points yet"
    await wrapper.get('[data-testid="points-error-retry"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="points-error"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-testid="points-row"]').map((r) => r.attributes('data-delta'))).toEqual(['120'])
    wrapper.unmount()
  })

  it('says the card could not be loaded instead of showing an empty page', async () => {
    api.get.mockRejectedValueOnce(new Error('offline')).mockResolvedValue(MEMBERSHIP)
    api.points.mockResolvedValue([])
    const wrapper = mountApp(MembershipView, { global: { stubs: { RouterLink: true } } })
    await settle()
    expect(wrapper.find('[data-testid="membership-error"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="membership-card"]').exists()).toBe(false)
    await wrapper.get('[data-testid="membership-error-retry"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="membership-level"]').attributes('data-level')).toBe('1')
    wrapper.unmount()
  })
})
