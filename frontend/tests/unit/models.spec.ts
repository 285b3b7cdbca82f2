// The personas and models pages: metric text with its spread, persona names by language, versions grouped by
// training run with the baselines after the trained models, the tree's conditions in words, loads where a code means
// "nothing yet"; the pages themselves show a persona card with its name in the page's language, a model card with
// the promoted version, and a retry when a load fails.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '@/api/client'
import type { ModelCard, Personas } from '@/api/models'
import { setLocale } from '@/i18n'
import {
  bestOf,
  conditionsText,
  featureLabeler,
  metricText,
  nullOn,
  parseCondition,
  personaName,
  thresholdText,
  trainingRuns,
} from '@/utils/models'
import { i18n } from '@/i18n'
import type { Me } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { mountApp, settle } from './mountApp'

const api = vi.hoisted(() => ({
  personas: vi.fn(),
  runPersonas: vi.fn(),
  cards: vi.fn(),
  train: vi.fn(),
  promote: vi.fn(),
  truth: vi.fn(),
}))
vi.mock('@/api/models', async (original) => ({ ...(await original<object>()), profileModelsApi: api }))
vi.mock('@/composables/useEChart', () => ({ useEChart: () => undefined }))
const jobsApi = vi.hoisted(() => ({ run: vi.fn() }))
vi.mock('@/api/services', async (original) => ({ ...(await original<object>()), adminJobsApi: jobsApi }))

afterEach(() => {
  setLocale('zh-CN')
  vi.clearAllMocks()
})

const cv = (f1: number) => ({
  accuracy: 0.8,
  precision: 0.7,
  recall: 0.6,
  f1,
  roc_auc: 0.75,
  accuracy_std: 0.01,
  precision_std: 0.02,
  recall_std: 0.03,
  f1_std: 0.04,
  roc_auc_std: null,
  confusion: [[50, 10], [8, 32]] as [[number, number], [number, number]],
  support: 100,
  positives: 40,
  k: 5,
})

function card(id: number, algorithm: string, run: string, created_at: string, over: Partial<ModelCard> = {}): ModelCard {
  return {
    id,
    task: 'propensity_30d',
    algorithm,
    baseline: algorithm === 'majority' || algorithm === 'recency',
    run,
    snapshot: 'events<=2026-06-30',
    as_of: '2026-05-31T16:00:00Z',
    horizon_days: 30,
    features: ['orders', 'cold_share'],
    params: {},
    metrics: { cv: cv(id / 100) },
    promoted: false,
    promoted_at: null,
    created_by: 1,
    created_at,
    ...over,
  }
}

describe('model helpers', () => {
  it('writes a metric with its spread, without one, or a dash', () => {
    expect(metricText(cv(0.5), 'f1')).toBe('0.500 ± 0.040')
    expect(metricText(cv(0.5), 'roc_auc')).toBe('0.750')
    expect(metricText({ ...cv(0.5), roc_auc: null }, 'roc_auc')).toBe('—')
    expect(metricText(null, 'accuracy')).toBe('—')
    expect(metricText(cv(0.5), 'accuracy', 2)).toBe('0.80 ± 0.01')
  })

  it('names a persona in the page language', () => {
    const c = { name_zh: '只逛不买型', name_en: 'Browsers' }
    expect(personaName(c, 'zh-CN')).toBe('只逛不买型')
    expect(personaName(c, 'en')).toBe('Browsers')
  })

  it('groups versions by run, newest run first, trained models before the baselines', () => {
    const runs = trainingRuns([
      card(1, 'majority', 'old', '2026-06-01T00:00:00Z'),
      card(2, 'mlp', 'old', '2026-06-01T00:00:01Z'),
      card(5, 'majority', 'new', '2026-07-01T00:00:00Z'),
      card(6, 'recency', 'new', '2026-07-01T00:00:00Z'),
      card(7, 'decision_tree', 'new', '2026-07-01T00:00:00Z'),
      card(8, 'mlp', 'new', '2026-07-01T00:00:00Z'),
    ])
    expect(runs.map((r) => r.run)).toEqual(['new', 'old'])
    expect(runs[0].versions.map((v) => v.algorithm)).toEqual(['decision_tree', 'mlp', 'recency', 'majority'])
    expect(runs[1].versions.map((v) => v.id)).toEqual([2, 1])
    expect(bestOf(runs[0])?.id).toBe(8) // the highest F1 that is not a baseline
    expect(bestOf({ ...runs[0], versions: runs[0].versions.filter((v) => v.baseline) })).toBeNull()
  })

  it('reads the tree conditions and writes them with feature names', () => {
    expect(parseCondition('recency_days <= 30.50')).toEqual({ feature: 'recency_days', op: '≤', value: '30.50' })
    expect(parseCondition('orders > -1.00')).toEqual({ feature: 'orders', op: '>', value: '-1.00' })
    expect(parseCondition('not a condition')).toBeNull()
    const label = featureLabeler(i18n.global.t, i18n.global.te)
    expect(label('cold_share')).toBe('感冒季品类兴趣占比')
    expect(label('orders')).toBe(i18n.global.t('profiles.columns.orders'))
    expect(label('unknown_feature')).toBe('unknown_feature')
    expect(conditionsText(['cold_share > 0.30', 'odd'], label, '且')).toBe('感冒季品类兴趣占比 > 0.30 且 odd')
    expect(conditionsText(['aov_fen <= 2201.50'], label, '且')).toBe(`${i18n.global.t('profiles.columns.aov_fen')} ≤ ¥22.02`)
    expect(thresholdText('orders', '3.50')).toBe('3.50')
  })

  it('answers null for the named codes only', async () => {
    const missing = new ApiError(404, { code: 'PERSONAS_NOT_RUN', title: 'x' })
    expect(await nullOn(() => Promise.reject(missing), ['PERSONAS_NOT_RUN'])).toBeNull()
    expect(await nullOn(() => Promise.resolve(3), ['PERSONAS_NOT_RUN'])).toBe(3)
    const other = new ApiError(500, { code: 'INTERNAL', title: 'x' })
    await expect(nullOn(() => Promise.reject(other), ['PERSONAS_NOT_RUN'])).rejects.toBe(other)
  })
})

const personas: Personas = {
  id: 'abc',
  computed_at: '2026-07-01T00:00:00Z',
  customers: 120,
  k: 2,
  k_fixed: false,
  features: ['orders', 'cold_share'],
  selection: {
    scores: [
      { k: 2, inertia: 100, silhouette: 0.5 },
      { k: 3, inertia: 60, silhouette: 0.4 },
    ],
    best_silhouette: 2,
    elbow: 3,
  },
  clusters: [
    {
      cluster: 0, code: 'browser', name_zh: '只逛不买型', name_en: 'Browsers', size: 80, share: 0.6667,
      distinguishing: [{ feature: 'orders', z: -0.9, mean: 0 }], z: {}, mean: {},
    },
    {
      cluster: 1, code: 'seasonal', name_zh: '季节感冒型', name_en: 'Seasonal cold & flu', size: 40, share: 0.3333,
      distinguishing: [{ feature: 'cold_share', z: 1.4, mean: 0.5 }], z: {}, mean: {},
    },
  ],
  tree: {
    depth: 4, fidelity: 0.98, fidelity_cv: 0.95, text: '|--- orders <= 0.50',
    leaves: [{ conditions: ['orders <= 0.50'], cluster: 0, customers: 80, purity: 1 }],
  },
  impact_assessment_id: null,
}

describe('the personas page', () => {
  it('shows the persona cards in the page language and the rules', async () => {
    api.personas.mockResolvedValue(personas)
    const { default: PersonasView } = await import('@/views/console/PersonasView.vue')
    const w = mountApp(PersonasView)
    await settle()
    const names = w.findAll('[data-testid="persona-name"]').map((n) => n.text())
    expect(names).toEqual(['只逛不买型', '季节感冒型'])
    expect(w.find('[data-testid="persona-size"]').text()).toContain('66.7%')
    expect(w.find('[data-testid="persona-rule"]').text()).toContain('只逛不买型')
    expect(w.find('[data-testid="persona-fidelity"]').text()).toContain('98.0%')
    setLocale('en')
    await settle()
    expect(w.findAll('[data-testid="persona-name"]').map((n) => n.text())).toEqual(['Browsers', 'Seasonal cold & flu'])
    w.unmount()
  })

  it('invites a first run before any, and offers a retry when the load fails', async () => {
    api.personas.mockRejectedValueOnce(new ApiError(404, { code: 'PERSONAS_NOT_RUN', title: 'x' }))
    const { default: PersonasView } = await import('@/views/console/PersonasView.vue')
    let w = mountApp(PersonasView)
    await settle()
    expect(w.find('[data-testid="personas-empty"]').exists()).toBe(true)
    w.unmount()
    api.personas.mockRejectedValueOnce(new ApiError(0, { code: 'NETWORK_ERROR', title: 'x' }))
    w = mountApp(PersonasView)
    await settle()
    expect(w.find('[data-testid="load-error"]').exists()).toBe(true)
    api.personas.mockResolvedValueOnce(personas)
    await w.find('[data-testid="load-error-retry"]').trigger('click')
    await settle()
    expect(w.findAll('[data-testid="persona-card"]')).toHaveLength(2)
    w.unmount()
  })
})

describe('running the clustering', () => {
  it('starts it with a fixed k, follows the job and shows the result once it succeeds', async () => {
    api.personas.mockRejectedValueOnce(new ApiError(404, { code: 'PERSONAS_NOT_RUN', title: 'x' }))
    api.personas.mockResolvedValue(personas)
    api.runPersonas.mockResolvedValue({ id: 42, job: 'find_personas', status: 'queued' })
    jobsApi.run.mockResolvedValue({ id: 42, job: 'find_personas', status: 'succeeded', progress_done: 3, progress_total: 3, error: null, message: '' })
    const { default: PersonasView } = await import('@/views/console/PersonasView.vue')
    const w = mountApp(PersonasView)
    useAuthStore().user = { id: 1, is_staff: true, roles: [], permissions: ['profiles:read', 'tags:write'] } as unknown as Me
    await settle()
    expect(w.find('[data-testid="personas-empty"]').exists()).toBe(true)
    await w.findAll('[data-testid="personas-k-mode"] input[type="radio"]')[1].setValue(true)
    await settle()
    const k = w.find('[data-testid="personas-k"] input')
    await k.setValue('5')
    await k.trigger('change')
    await w.find('[data-testid="personas-run"]').trigger('click')
    await settle()
    expect(api.runPersonas).toHaveBeenCalledWith({ k: 5 })
    expect(w.find('[data-testid="personas-job"]').attributes('data-status')).toBe('queued')
    await new Promise((resolve) => setTimeout(resolve, 1700)) // the follower's first look at the run
    await settle()
    expect(jobsApi.run).toHaveBeenCalledWith(42)
    expect(w.find('[data-testid="personas-job"]').attributes('data-status')).toBe('succeeded')
    expect(w.findAll('[data-testid="persona-card"]')).toHaveLength(2)
    w.unmount()
  })

  it('hides the run for staff without tags:write', async () => {
    api.personas.mockResolvedValue(personas)
    const { default: PersonasView } = await import('@/views/console/PersonasView.vue')
    const w = mountApp(PersonasView)
    useAuthStore().user = { id: 1, is_staff: true, roles: [], permissions: ['profiles:read'] } as unknown as Me
    await settle()
    expect(w.find('[data-testid="personas-run"]').exists()).toBe(false)
    expect(w.findAll('[data-testid="persona-card"]')).toHaveLength(2)
    w.unmount()
  })
})

describe('the models page', () => {
  it('shows a card per task with the latest run, the promoted version and the baselines after the models', async () => {
    api.cards.mockResolvedValue([
      card(5, 'majority', 'new', '2026-07-01T00:00:00Z'),
      card(7, 'decision_tree', 'new', '2026-07-01T00:00:00Z', { promoted: true, promoted_at: '2026-07-02T00:00:00Z' }),
      card(8, 'mlp', 'new', '2026-07-01T00:00:00Z'),
      card(1, 'mlp', 'old', '2026-06-01T00:00:00Z'),
    ])
    api.truth.mockRejectedValue(new ApiError(409, { code: 'TRUTH_MISSING', title: 'x' }))
    const { default: ModelsView } = await import('@/views/console/ModelsView.vue')
    const w = mountApp(ModelsView)
    await settle()
    const cards = w.findAll('[data-testid="model-card"]')
    expect(cards.map((c) => c.attributes('data-task'))).toEqual(['propensity_30d', 'churn_90d'])
    expect(cards[0].attributes('data-runs')).toBe('2')
    expect(cards[1].attributes('data-runs')).toBe('0')
    const latest = cards[0].find('[data-testid="model-run"]')
    const algorithms = latest.findAll('[data-testid="model-version"]').map((v) => v.attributes('data-algorithm'))
    expect(algorithms).toEqual(['decision_tree', 'mlp', 'majority'])
    expect(latest.find('[data-testid="model-promoted"]').exists()).toBe(true)
    expect(latest.find('[data-testid="metric-f1"]').text()).toBe('0.070 ± 0.040')
    expect(latest.find('[data-testid="confusion-matrix"]').text()).toContain('32')
    expect(w.find('[data-testid="truth-missing"]').exists()).toBe(true)
    w.unmount()
  })

  it('offers a retry when the cards cannot be loaded', async () => {
    api.cards.mockRejectedValueOnce(new ApiError(0, { code: 'NETWORK_ERROR', title: 'x' }))
    api.truth.mockResolvedValue({ customers: 1, shoppers: 1, consenting: 1, conditions: [] })
    const { default: ModelsView } = await import('@/views/console/ModelsView.vue')
    const w = mountApp(ModelsView)
    await settle()
    expect(w.find('[data-testid="load-error"]').exists()).toBe(true)
    expect(w.find('[data-testid="model-card"]').exists()).toBe(false)
    w.unmount()
  })
})
