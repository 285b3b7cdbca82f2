// The customer 360 page: the profile, RFM and CLV figures and tags with their evidence, the segments the customer
// is in; health tags and health segments behind a notice for staff without profiles:read_health, on request (and
// only with the customer's consent) for staff with it; a retry when the page cannot be loaded.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CustomerProfile } from '@/api/types'
import CustomerDetailView from '@/views/console/CustomerDetailView.vue'
import { mountApp, settle } from './mountApp'

const api = vi.hoisted(() => ({ customer: vi.fn(), health: vi.fn() }))
vi.mock('@/api/services', () => ({ adminProfilesApi: api, catalogApi: { categories: async () => [] } }))
vi.mock('@/composables/useEChart', () => ({ useEChart: () => undefined }))
vi.mock('@/components/CustomerBehaviourPanel.vue', () => ({ default: { template: '<div data-testid="panel-stub" />' } }))
vi.mock('vue-router', () => ({ useRoute: () => ({ params: { id: '7' } }), useRouter: () => ({ push: vi.fn() }) }))

const profile = (over: Partial<CustomerProfile> = {}): CustomerProfile =>
  ({
    user: { id: 7, name: '王画像', phone: '139****0000', email: null, real_name: null, masked: true, created_at: '2026-06-01T00:00:00Z' },
    built: true,
    as_of: '2026-06-30T16:00:00Z',
    profile: {
      user_id: '7', orders: 3, monetary_fen: 12345, rfm_group: '重要价值客户', r_score: 5, f_score: 4, m_score: 5,
      p_alive: 0.9, expected_orders_90d: 1.5, expected_value_12m_fen: 50000, is_minor: false,
      consent_health_profile: true,
    },
    tags: [
      {
        code: 'price_sensitivity', name_zh: '价格敏感度', name_en: 'Price sensitivity', family: 'consumption', kind: 'builtin',
        value: 'high', score: 0.5, evidence: { price_sensitivity: 0.5, orders: 2 }, computed_at: '2026-06-30T16:00:00Z',
      },
    ],
    interests: [{ kind: 'category', key: 'hypertension', score: 2 }],
    activity: [],
    segments: [],
    timeline_user_id: '7',
    can_read_health: false,
    ...over,
  }) as unknown as CustomerProfile

const stubs = { stubs: { RouterLink: { template: '<a data-testid="customer-timeline-link"><slot /></a>' } } }

beforeEach(() => {
  vi.clearAllMocks()
  document.body.innerHTML = ''
})

describe('CustomerDetailView', () => {
  it('shows the figures and tags, and a notice instead of health tags without the permission', async () => {
    api.customer.mockResolvedValue(profile())
    const wrapper = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    expect(api.customer).toHaveBeenCalledWith('7')
    expect(wrapper.find('[data-testid="customer-rfm-group"]').text()).toContain('重要价值客户')
    expect(wrapper.find('[data-testid="customer-p_alive"]').text()).toBe('90.0%')
    expect(wrapper.find('[data-testid="customer-expected_value_12m_fen"]').text()).toContain('500.00')
    expect(wrapper.find('[data-testid="customer-tag"][data-code="price_sensitivity"]').exists()).toBe(true)
    expect(wrapper.text()).toContain('价格敏感度（用券/折扣订单占比）：50.0%')
    expect(wrapper.find('[data-testid="customer-health-locked"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="customer-health-card"]').exists()).toBe(false)
    expect(api.health).not.toHaveBeenCalled()
  }, 60_000)

  it('loads health tags on request, and shows none without the consent', async () => {
    api.customer.mockResolvedValue(profile({ can_read_health: true }))
    api.health.mockResolvedValueOnce({
      user_id: 7,
      consent: true,
      conditions: [
        {
          condition: 'hypertension', name_zh: '高血压', name_en: 'Hypertension', confidence: 0.875,
          evidence: { order_count: 2, first_purchase: '2026-05-01', last_purchase: '2026-06-01', prescription_drug: true },
          medicine_product_id: 3, next_refill_date: '2026-07-01',
        },
      ],
      segments: [{ id: 12, name: '降压药待续方', since: '2026-06-30T16:00:00Z', sensitive: true }],
    })
    const wrapper = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    expect(wrapper.find('[data-testid="customer-health-locked"]').exists()).toBe(false)
    expect(api.health).not.toHaveBeenCalled() // only on request: every read is audited
    await wrapper.find('[data-testid="customer-health-load"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="customer-health-row"][data-condition="hypertension"]').exists()).toBe(true)
    expect(wrapper.text()).toContain('87.5%')
    const segment = wrapper.find('[data-testid="customer-health-segment"]')
    expect(segment.attributes('data-segment-id')).toBe('12')
    expect(segment.text()).toContain('降压药待续方')
    expect(segment.text()).toContain('2026/07/01 00:00:00')

    api.health.mockResolvedValueOnce({ user_id: 7, consent: false, conditions: [], segments: [] })
    wrapper.unmount()
    const again = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    await again.find('[data-testid="customer-health-load"]').trigger('click')
    await settle()
    expect(again.find('[data-testid="customer-health-no-consent"]').exists()).toBe(true)
    expect(again.find('[data-testid="customer-health-row"]').exists()).toBe(false)
    expect(again.find('[data-testid="customer-health-segment"]').exists()).toBe(false)
  }, 60_000)

  it('lists the segments the customer is in, and says so when there are none', async () => {
    api.customer.mockResolvedValueOnce(
      profile({
        segments: [
          { id: 3, name: '复购客户', since: '2026-06-01T02:00:00Z', sensitive: false },
          { id: 5, name: '感冒药常客', since: '2026-06-20T12:30:00Z', sensitive: false },
        ],
      }),
    )
    const wrapper = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    const rows = wrapper.findAll('[data-testid="customer-segment"]')
    expect(rows.map((r) => r.attributes('data-segment-id'))).toEqual(['3', '5'])
    expect(rows[0].text()).toContain('复购客户')
    expect(rows[1].text()).toContain('2026/06/20 20:30:00') // entered at 12:30 UTC: Beijing time
    expect(wrapper.find('[data-testid="customer-segments-empty"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="customer-segments"]').text()).toContain('不在此处显示') // health ones hidden
    wrapper.unmount()

    api.customer.mockResolvedValueOnce(profile({ can_read_health: true }))
    const none = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    expect(none.find('[data-testid="customer-segment"]').exists()).toBe(false)
    expect(none.find('[data-testid="customer-segments-empty"]').exists()).toBe(true)
    expect(none.find('[data-testid="customer-segments"]').text()).toContain('随健康标签一起查看')
  }, 60_000)

  it('offers a retry when the page cannot be loaded', async () => {
    api.customer.mockRejectedValueOnce(new Error('network down')).mockResolvedValueOnce(profile())
    const wrapper = mountApp(CustomerDetailView, { global: stubs })
    await settle()
    expect(wrapper.find('[data-testid="load-error"]').exists()).toBe(true)
    await wrapper.find('[data-testid="load-error-retry"]').trigger('click')
    await settle()
    expect(api.customer).toHaveBeenCalledTimes(2)
    expect(wrapper.find('[data-testid="customer-rfm-group"]').exists()).toBe(true)
  }, 60_000)
})
