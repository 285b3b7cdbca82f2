// The behaviour analysis's words (steps, channels, devices, bands, shares) in both languages, and the customer
// 360's behaviour panel: it asks for the customer it is given, shows their figures, channels and search terms,
// says so when there is no behaviour, and offers a retry when the request fails.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CustomerBehaviour } from '@/api/behaviour'
import CustomerBehaviourPanel from '@/components/CustomerBehaviourPanel.vue'
import { setLocale } from '@/i18n'
import { bandLabel, channelLabel, countLabel, deviceLabel, share, stepLabel } from '@/utils/behaviour'
import { mountApp, settle } from './mountApp'

const api = vi.hoisted(() => ({ customer: vi.fn() }))
vi.mock('@/api/behaviour', async (original) => ({ ...(await original<object>()), behaviourApi: api }))
vi.mock('@/api/services', () => ({ catalogApi: { categories: async () => [] } }))
vi.mock('@/composables/useEChart', () => ({ useEChart: () => undefined }))

beforeEach(() => {
  vi.clearAllMocks()
  document.body.innerHTML = ''
})

describe('behaviour words', () => {
  it('names steps, channels, devices and bands in both languages', () => {
    expect([stepLabel('view'), stepLabel('paid')]).toEqual(['浏览商品', '支付成功'])
    expect([channelLabel('direct'), channelLabel('wechat'), channelLabel('douyin')]).toEqual(['直接访问', '微信', 'douyin'])
    expect([deviceLabel('iOS'), deviceLabel('unknown')]).toEqual(['iOS', '未知（仅服务端事件）'])
    expect([bandLabel('20-50'), bandLabel('500+'), countLabel('5+'), countLabel('2')]).toEqual([
      '¥20–50',
      '¥500 以上',
      '5 及以上',
      '2',
    ])
    setLocale('en')
    expect([stepLabel('cart'), channelLabel('direct'), bandLabel('500+')]).toEqual(['Added to cart', 'Direct', '¥500 and more'])
  })

  it('writes shares as percentages', () => {
    expect([share(0.1234), share(1), share(null)]).toEqual(['12.3%', '100.0%', '—'])
  })
})

const summary = {
  sessions: 3, people: 1, signed_in: 1, events: 12, product_views: 4, searches: 2, cart_adds: 1, orders: 1, buyers: 1,
  revenue_fen: 3460, aov_fen: 3460, session_conversion: 1 / 3, search_to_purchase: 0.5, zero_result_share: 0,
  reviews: 1, average_rating: 4,
}
const empty = { views: 0, categories: [], brands: [], price_bands: [] }
const behaviour = (over: Partial<CustomerBehaviour> = {}): CustomerBehaviour => ({
  user_id: '101',
  range: { start: '2026-06-01', end: '2026-06-30', channel: null, device: null },
  first_seen: '2026-06-01T02:00:00Z',
  last_seen: '2026-06-05T03:00:00Z',
  summary,
  funnel: [
    { step: 'view', sessions: 2 },
    { step: 'cart', sessions: 1 },
    { step: 'checkout', sessions: 1 },
    { step: 'paid', sessions: 1 },
  ],
  weekly: [{ week: '2026-06-01', sessions: 3, events: 12, paid: 1 }],
  channels: [{ key: 'wechat', sessions: 1 }, { key: 'direct', sessions: 2 }],
  devices: [{ key: 'iOS', sessions: 3 }],
  browsing: { ...empty, views: 4, categories: [{ key: 'cold_flu', views: 3, people: 1 }] },
  searches: {
    searches: 2, people: 1, zero_results: 0, zero_result_share: 0, search_to_purchase: 0.5,
    top: [{ term: '感冒灵', searches: 2, people: 1, zero_results: 0, average_results: 5, purchase_rate: 0.5 }],
    zero_result_terms: [],
  },
  purchases: {
    orders: 1, buyers: 1, revenue_fen: 3460, discount_fen: 500, aov_fen: 3460, orders_per_buyer: 1, items_per_order: 2,
    discounted_share: 1, daily: [], frequency: [], order_values: [], basket_sizes: [], categories: [],
  },
  interactions: { reviews: 1, people: 1, average_rating: 4, ratings: [], daily: [], categories: [] },
  ...over,
})

describe('CustomerBehaviourPanel', () => {
  it("shows the customer's figures, channels, devices and searches", async () => {
    api.customer.mockResolvedValue(behaviour())
    const wrapper = mountApp(CustomerBehaviourPanel, { props: { userId: 101 } })
    await settle()
    expect(api.customer).toHaveBeenCalledWith(101)
    expect(wrapper.get('[data-testid="kpi-sessions"]').text()).toBe('3')
    expect(wrapper.get('[data-testid="kpi-spend"]').text()).toBe('¥34.60')
    expect(wrapper.findAll('[data-testid="customer-channel"]').map((c) => c.text())).toEqual(['微信 · 1', '直接访问 · 2'])
    expect(wrapper.get('[data-testid="customer-funnel-chart"]').attributes('data-sessions')).toBe('[2,1,1,1]')
    expect(wrapper.get('[data-testid="customer-search-terms"]').text()).toContain('感冒灵')
  })

  it('says when there is no behaviour, and asks again for another customer', async () => {
    api.customer.mockResolvedValue(behaviour({ summary: { ...summary, sessions: 0 } }))
    const wrapper = mountApp(CustomerBehaviourPanel, { props: { userId: 7 } })
    await settle()
    expect(wrapper.find('[data-testid="customer-behaviour-none"]').exists()).toBe(true)
    await wrapper.setProps({ userId: 8 })
    await settle()
    expect(api.customer).toHaveBeenLastCalledWith(8)
  })

  it('offers a retry when the request fails', async () => {
    api.customer.mockRejectedValueOnce(new Error('boom')).mockResolvedValue(behaviour())
    const wrapper = mountApp(CustomerBehaviourPanel, { props: { userId: 101 } })
    await settle()
    await wrapper.get('[data-testid="customer-behaviour-error-retry"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="kpi-sessions"]').exists()).toBe(true)
  })
})
