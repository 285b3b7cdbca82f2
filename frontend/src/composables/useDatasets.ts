// The declared datasets, shared by the pipeline page's 数据集 and 质量报告 tabs and the report drawer (titles in
// the UI language, subjects of quality reports).
import { ref, shallowRef } from 'vue'
import { useI18n } from 'vue-i18n'
import { adminDatasetsApi } from '@/api/services'
import type { Dataset } from '@/api/types'
import { keyLabel } from '@/utils/labels'
import { showError } from './useApiError'

/** What POST /admin/datasets/{name}/imports reads. */
export const IMPORT_EXTENSIONS = ['.csv', '.tsv', '.txt', '.xlsx', '.jsonl', '.ndjson', '.json', '.parquet']
/** Datasets with an example file to download (GET /admin/datasets/{name}/sample). */
export const SAMPLE_DATASETS = ['external_orders']

/** What a dataset's action buttons ask for (components/DatasetActions.vue). */
export type DatasetAction = { kind: 'import'; file: File } | { kind: 'clean' | 'sample' | 'rows' | 'imports' | 'rules' }
/** The action of a dataset that is under way (its button shows a spinner). */
export type DatasetBusy = 'import' | 'clean' | 'sample'

/** An outlier rule in words, as declared (规则) or as applied (a quality report): 稳健 Z 分数 (3.5) · 标记. */
export function outlierRuleText(o: { method: string; threshold: number; action: string }): string {
  return `${keyLabel('datasets.outlierMethods', o.method)} (${o.threshold}) · ${keyLabel('datasets.outlierActions', o.action)}`
}

const datasets = shallowRef<Dataset[]>([])
const loading = ref(false)
let inFlight: Promise<void> | null = null

async function fetchAll(quiet: boolean): Promise<void> {
  loading.value = !quiet
  try {
    datasets.value = await adminDatasetsApi.list()
  } catch (err) {
    showError(err)
  } finally {
    loading.value = false
  }
}

/** Load (again) every dataset; calls made while one is in flight share it. */
function load(quiet = false): Promise<void> {
  if (!inFlight) inFlight = fetchAll(quiet).finally(() => (inFlight = null))
  return inFlight
}

/** Load once if nothing is loaded yet (for labels). */
function ensure(): Promise<void> {
  return datasets.value.length ? Promise.resolve() : load(true)
}

/** Put one dataset fetched again in place. */
function replace(one: Dataset) {
  const i = datasets.value.findIndex((d) => d.name === one.name)
  datasets.value = i < 0 ? [...datasets.value, one] : datasets.value.map((d, j) => (j === i ? one : d))
}

export function useDatasets() {
  const { t, te, locale } = useI18n()

  function datasetTitle(name: string): string {
    const ds = datasets.value.find((d) => d.name === name)
    if (!ds) return name
    return locale.value === 'en' ? ds.title_en || ds.title_zh : ds.title_zh
  }

  function datasetDescription(ds: Dataset): string {
    return locale.value === 'en' ? ds.description_en || ds.description_zh : ds.description_zh
  }

  /** A report's subject in words: 行为事件 for `events`, the dataset's title for `dataset:<name>`. */
  function subjectLabel(subject: string): string {
    if (subject === 'events') return t('quality.subjects.events')
    if (subject.startsWith('dataset:')) return datasetTitle(subject.slice('dataset:'.length))
    return subject
  }

  /** Why rows were dropped at a step: duplicate, duplicate_key, missing:<col>, outlier:<col>, bot, burst, test_traffic. */
  function reasonLabel(reason: string): string {
    const colon = reason.indexOf(':')
    const [kind, column] = colon < 0 ? [reason, ''] : [reason.slice(0, colon), reason.slice(colon + 1)]
    const key = `quality.reasons.${kind}`
    return te(key) ? t(key, { column }) : reason
  }

  /** Why an import rejected a record (malformed_row, invalid_json, http_error, …). */
  function rejectionLabel(reason: string): string {
    return keyLabel('quality.rejections', reason)
  }

  return {
    datasets,
    loading,
    load,
    ensure,
    replace,
    datasetTitle,
    datasetDescription,
    subjectLabel,
    reasonLabel,
    rejectionLabel,
  }
}
