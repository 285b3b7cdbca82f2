// The behaviour analysis API (/admin/behaviour/*): shapes and calls. Money in fen, days as Shanghai dates
// ('YYYY-MM-DD'), rates as shares of 1 (null where there is nothing to divide by).
import { api } from './client'

export const FUNNEL_STEPS = ['view', 'cart', 'checkout', 'paid'] as const
export type FunnelStep = (typeof FUNNEL_STEPS)[number]
export type FunnelBy = 'day' | 'channel' | 'device'

export interface BehaviourQuery {
  start?: string
  end?: string
  channel?: string
  device?: string
}

export interface BehaviourRange {
  start: string
  end: string
  channel: string | null
  device: string | null
}

export interface BehaviourBounds {
  first_day: string | null
  last_day: string | null
  channels: string[]
  devices: string[]
}

export interface BehaviourOverview {
  sessions: number
  people: number
  signed_in: number
  events: number
  product_views: number
  searches: number
  cart_adds: number
  orders: number
  buyers: number
  revenue_fen: number
  aov_fen: number | null
  session_conversion: number | null
  search_to_purchase: number | null
  zero_result_share: number | null
  reviews: number
  average_rating: number | null
}

export interface OverviewPage {
  range: BehaviourRange
  bounds: BehaviourBounds
  built_at: string
  overview: BehaviourOverview
}

export interface FunnelStepOut {
  step: FunnelStep
  people: number
  sessions: number
  people_rate: number | null
  sessions_rate: number | null
  people_from_previous: number | null
  sessions_from_previous: number | null
}

export interface FunnelOut {
  range: BehaviourRange
  window_days: number
  steps: FunnelStepOut[]
  by: FunnelBy | null
  breakdown: { key: string; steps: FunnelStepOut[] }[]
}

export interface SearchTerm {
  term: string
  searches: number
  people: number
  zero_results: number
  average_results: number | null
  purchase_rate: number | null
}

export interface SearchesOut {
  searches: number
  people: number
  zero_results: number
  zero_result_share: number | null
  search_to_purchase: number | null
  top: SearchTerm[]
  zero_result_terms: SearchTerm[]
}

export interface Viewed {
  key: string
  views: number
  people: number
}

export interface BrowsingOut {
  views: number
  categories: Viewed[]
  brands: Viewed[]
  price_bands: Viewed[]
}

export interface InterestOut {
  range: BehaviourRange
  interval: 'day' | 'week'
  periods: string[]
  series: { key: string; views: number[]; people: number[] }[]
}

export interface PurchasesOut {
  orders: number
  buyers: number
  revenue_fen: number
  discount_fen: number
  aov_fen: number | null
  orders_per_buyer: number | null
  items_per_order: number | null
  discounted_share: number | null
  daily: { day: string; orders: number; buyers: number; revenue_fen: number; aov_fen: number }[]
  frequency: { key: string; buyers: number }[]
  order_values: { key: string; orders: number }[]
  basket_sizes: { key: string; orders: number }[]
  categories: { key: string; revenue_fen: number; quantity: number; orders: number; buyers: number }[]
}

export interface InteractionsOut {
  reviews: number
  people: number
  average_rating: number | null
  ratings: { rating: number; reviews: number }[]
  daily: { day: string; reviews: number; average_rating: number }[]
  categories: { key: string; reviews: number; average_rating: number }[]
}

export interface CustomerBehaviour {
  user_id: string
  range: BehaviourRange
  first_seen: string | null
  last_seen: string | null
  summary: BehaviourOverview
  funnel: { step: FunnelStep; sessions: number }[]
  weekly: { week: string; sessions: number; events: number; paid: number }[]
  channels: { key: string; sessions: number }[]
  devices: { key: string; sessions: number }[]
  browsing: BrowsingOut
  searches: SearchesOut
  purchases: PurchasesOut
  interactions: InteractionsOut
}

type Ranged<T> = T & { range: BehaviourRange }

export const behaviourApi = {
  overview: (q: BehaviourQuery) => api.get<OverviewPage>('/admin/behaviour/overview', { ...q }),
  funnel: (q: BehaviourQuery, windowDays: number, by: FunnelBy | null) =>
    api.get<FunnelOut>('/admin/behaviour/funnel', { ...q, window_days: windowDays, by: by ?? undefined }),
  searches: (q: BehaviourQuery, limit = 20) =>
    api.get<Ranged<SearchesOut>>('/admin/behaviour/searches', { ...q, limit }),
  browsing: (q: BehaviourQuery, limit = 15) =>
    api.get<Ranged<BrowsingOut>>('/admin/behaviour/browsing', { ...q, limit }),
  interest: (q: BehaviourQuery, interval: 'day' | 'week', top = 8) =>
    api.get<InterestOut>('/admin/behaviour/interest', { ...q, interval, top }),
  purchases: (q: BehaviourQuery, limit = 15) =>
    api.get<Ranged<PurchasesOut>>('/admin/behaviour/purchases', { ...q, limit }),
  interactions: (q: BehaviourQuery, limit = 15) =>
    api.get<Ranged<InteractionsOut>>('/admin/behaviour/interactions', { ...q, limit }),
  customer: (userId: number | string, q: Pick<BehaviourQuery, 'start' | 'end'> = {}) =>
    api.get<CustomerBehaviour>(`/admin/behaviour/customers/${userId}`, { ...q }),
}
