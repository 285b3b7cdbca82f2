// Helpers of the personas and models pages: metric text with its spread, a persona's name in the page's language,
// model versions grouped by training run (models first, the baselines beside), the tree's conditions made
// readable, and loads where one answer code means "nothing yet".
import { ApiError } from '@/api/client'
import type { CvMetrics, ModelCard, PersonaCluster } from '@/api/models'

export const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] as const
export type MetricKey = (typeof METRICS)[number]

/** "0.812 ± 0.021" (the cross-validated mean and standard deviation), "0.812" without a spread, "—" without a value. */
export function metricText(cv: Partial<CvMetrics> | null | undefined, key: MetricKey, digits = 3): string {
  const value = cv?.[key]
  if (value === null || value === undefined || Number.isNaN(value)) return '—'
  const sd = cv?.[`${key}_std`]
  const mean = value.toFixed(digits)
  return sd === null || sd === undefined ? mean : `${mean} ± ${sd.toFixed(digits)}`
}

/** The suggested persona name in `locale` (Chinese unless English). */
export function personaName(cluster: Pick<PersonaCluster, 'name_zh' | 'name_en'>, locale: string): string {
  return locale.startsWith('en') ? cluster.name_en : cluster.name_zh
}

const ORDER = ['decision_tree', 'mlp', 'recency', 'majority']

export interface TrainingRun {
  run: string
  as_of: string
  created_at: string
  versions: ModelCard[]
}

/**
 * Versions grouped by their training run, the newest run first; within a run the trained models before the
 * baselines (decision tree, MLP, then recency and majority), so the baselines sit beside what they are measured
 * against.
 */
export function trainingRuns(cards: ModelCard[]): TrainingRun[] {
  const runs = new Map<string, TrainingRun>()
  for (const card of cards) {
    const run = runs.get(card.run)
    if (run) {
      run.versions.push(card)
      if (card.created_at > run.created_at) run.created_at = card.created_at
    } else {
      runs.set(card.run, { run: card.run, as_of: card.as_of, created_at: card.created_at, versions: [card] })
    }
  }
  const rank = (a: string) => {
    const i = ORDER.indexOf(a)
    return i < 0 ? ORDER.length : i
  }
  const out = [...runs.values()]
  for (const run of out) run.versions.sort((a, b) => rank(a.algorithm) - rank(b.algorithm) || a.id - b.id)
  return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
}

/** The best trained (non-baseline) version of a run by F1, or null. */
export function bestOf(run: TrainingRun): ModelCard | null {
  let best: ModelCard | null = null
  for (const v of run.versions) {
    if (v.baseline) continue
    if (!best || (v.metrics.cv.f1 ?? -1) > (best.metrics.cv.f1 ?? -1)) best = v
  }
  return best
}

export interface Condition {
  feature: string
  op: '≤' | '>'
  value: string
}

/** A tree condition as the server writes it ("recency_days <= 30.00"), split so the feature can be named. */
export function parseCondition(text: string): Condition | null {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>)\s*(-?[0-9.]+(?:e[-+]?[0-9]+)?)\s*$/.exec(text)
  if (!m) return null
  return { feature: m[1], op: m[2] === '<=' ? '≤' : '>', value: m[3] }
}

/** A threshold as the analyst reads it: money features (in fen) in yuan, anything else as written. */
export function thresholdText(feature: string, value: string): string {
  return feature.endsWith('_fen') ? `¥${(Number(value) / 100).toFixed(2)}` : value
}

/** The conditions of a leaf in words: each feature named by `label`, joined by `and`. */
export function conditionsText(conditions: string[], label: (feature: string) => string, and: string): string {
  return conditions
    .map((c) => {
      const parsed = parseCondition(c)
      return parsed ? `${label(parsed.feature)} ${parsed.op} ${thresholdText(parsed.feature, parsed.value)}` : c
    })
    .join(` ${and} `)
}

/** Load with `fetch`, answering null instead of failing when the server answers one of `codes` (e.g. not run yet). */
export async function nullOn<T>(fetch: () => Promise<T>, codes: string[]): Promise<T | null> {
  try {
    return await fetch()
  } catch (err) {
    if (err instanceof ApiError && codes.includes(err.code)) return null
    throw err
  }
}

/**
 * A feature's name in the page's language: the personas page's own words (interest shares), else the profile
 * store's column names, else the code itself.
 */
export function featureLabeler(t: (key: string) => string, te: (key: string) => boolean): (feature: string) => string {
  return (feature) => {
    for (const key of [`personasPage.features.${feature}`, `profiles.columns.${feature}`]) if (te(key)) return t(key)
    return feature
  }
}
