import { ref, shallowRef } from 'vue'
import type { Page } from '@/api/types'
import { describeError, showError } from './useApiError'

/**
 * Paged list state for tables backed by a Page<T> endpoint (limit/offset). A failed load is shown in a message and
 * kept in `error` (show it in place of the table with `<LoadError @retry="load">`).
 */
export function usePaged<T>(fetchPage: (limit: number, offset: number) => Promise<Page<T>>, pageSize = 20) {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const page = ref(1)
  const size = ref(pageSize)
  const loading = ref(false)
  const error = ref('')
  let seq = 0

  async function load() {
    const mine = ++seq
    loading.value = true
    try {
      const result = await fetchPage(size.value, (page.value - 1) * size.value)
      if (mine !== seq) return // a newer request superseded this one
      items.value = result.items
      error.value = ''
      total.value = result.total
      // The page we asked for may be past the end (e.g. after deletes): step back.
      if (result.items.length === 0 && result.total > 0 && page.value > 1) {
        page.value = Math.max(1, Math.ceil(result.total / size.value))
        await load()
      }
    } catch (err) {
      if (mine === seq) {
        error.value = describeError(err)
        showError(err)
      }
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** Start again from the first page (after a filter change). */
  function reload() {
    page.value = 1
    return load()
  }

  return { items, total, page, size, loading, error, load, reload }
}
