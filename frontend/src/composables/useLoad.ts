import { ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import { describeError } from './useApiError'

export interface Loaded<T> {
  data: ShallowRef<T>
  loading: Ref<boolean>
  /** What went wrong with the last load ('' when it worked): show it with `<LoadError @retry="load">`. */
  error: Ref<string>
  load: () => Promise<void>
}

/**
 * Data a page loads (a list, a card): `data` keeps `initial` until a load works; a failed load sets `error`
 * instead of leaving the page silently empty. Only the newest of overlapping loads counts.
 */
export function useLoad<T>(fetch: () => Promise<T>, initial: T, options: { immediate?: boolean } = {}): Loaded<T> {
  const data = shallowRef(initial) as ShallowRef<T>
  const loading = ref(false)
  const error = ref('')
  let seq = 0

  async function load() {
    const mine = ++seq
    loading.value = true
    try {
      const value = await fetch()
      if (mine !== seq) return
      data.value = value
      error.value = ''
    } catch (err) {
      if (mine === seq) error.value = describeError(err)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  if (options.immediate !== false) void load()
  return { data, loading, error, load }
}
