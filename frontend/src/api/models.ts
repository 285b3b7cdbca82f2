// Personas (人群画像), predictive models (预测模型) and the health tags' truth report: the API's shapes and calls
// (`/api/v1/admin/profiles/personas|models|truth`).
import { api } from './client'

export type ModelTask = 'propensity_30d' | 'churn_90d'
export const MODEL_TASKS: ModelTask[] = ['propensity_30d', 'churn_90d']

export interface JobStarted {
  id: number
  job: string
  status: string
}

export interface PersonaFeature {
  feature: string
  /** The cluster's mean z-score: its difference from everyone in standard deviations. */
  z: number
  mean: number
}

export interface PersonaCluster {
  cluster: number
  code: string
  name_zh: string
  name_en: string
  size: number
  share: number
  distinguishing: PersonaFeature[]
  z: Record<string, number>
  mean: Record<string, number>
}

export interface PersonaLeaf {
  conditions: string[]
  cluster: number
  customers: number
  purity: number
}

export interface Personas {
  id: string
  computed_at: string
  customers: number
  k: number
  k_fixed?: boolean
  features: string[]
  selection: {
    scores: { k: number; inertia: number; silhouette: number }[]
    best_silhouette: number
    elbow: number
  }
  clusters: PersonaCluster[]
  tree: { depth: number; fidelity: number; fidelity_cv: number | null; text: string; leaves: PersonaLeaf[] }
  impact_assessment_id: string | null
}

export interface PersonasInput {
  k?: number
  impact_assessment_id?: string
}

/** The cross-validated figures: each metric's mean over the folds and its standard deviation (`<metric>_std`). */
export interface CvMetrics {
  accuracy: number | null
  precision: number | null
  recall: number | null
  f1: number | null
  roc_auc: number | null
  accuracy_std: number | null
  precision_std: number | null
  recall_std: number | null
  f1_std: number | null
  roc_auc_std: number | null
  /** The pooled out-of-fold confusion matrix [[tn, fp], [fn, tp]]. */
  confusion: [[number, number], [number, number]]
  support: number
  positives: number
  k: number
}

export interface ModelCard {
  id: number
  task: ModelTask | string
  algorithm: string
  baseline: boolean
  run: string
  snapshot: string
  as_of: string
  horizon_days: number
  features: string[]
  params: Record<string, unknown>
  metrics: { cv: CvMetrics; label_end?: string; rules?: string; importance?: Record<string, number> }
  promoted: boolean
  promoted_at: string | null
  created_by: number | null
  created_at: string
  scoring_run?: number
}

export interface TruthLevel {
  min_confidence: number
  tagged: number
  actual: number
  true_positives: number
  precision: number | null
  recall: number | null
}

export interface TruthCondition extends Omit<TruthLevel, 'min_confidence'> {
  condition: string
  name_zh: string
  name_en: string
  tag: string
  levels: TruthLevel[]
}

export interface TruthReport {
  customers: number
  shoppers: number
  consenting: number
  build?: string | null
  rules_version?: string
  conditions: TruthCondition[]
}

const base = '/admin/profiles'

export const profileModelsApi = {
  personas: () => api.get<Personas>(`${base}/personas`),
  runPersonas: (input: PersonasInput) => api.post<JobStarted>(`${base}/personas/run`, input),
  cards: (task?: ModelTask) => api.get<ModelCard[]>(`${base}/models`, task ? { task } : {}),
  train: (task: ModelTask) => api.post<JobStarted>(`${base}/models/train`, { task }),
  promote: (id: number) => api.post<ModelCard>(`${base}/models/${id}/promote`),
  truth: () => api.get<TruthReport>(`${base}/truth`),
}
