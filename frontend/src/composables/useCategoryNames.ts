import { ref } from 'vue'
import { catalogApi } from '@/api/services'
import type { Category } from '@/api/types'
import { categoryName } from '@/utils/labels'
import { describeError } from './useApiError'

// The category tree, fetched once for the whole app (filters, pickers, category codes shown by name).
const tree = ref<Category[]>([])
/** Why the tree could not be loaded ('' when it was). */
const error = ref('')
let loading: Promise<void> | null = null

function find(code: string, list: Category[]): Category | null {
  for (const c of list) {
    if (c.code === code) return c
    const hit = find(code, c.children)
    if (hit) return hit
  }
  return null
}

/** Load the tree (again after a failure); pages that already have it share it. */
function reload(): Promise<void> {
  loading = catalogApi
    .categories()
    .then((c) => {
      tree.value = c
      error.value = ''
    })
    .catch((err) => {
      error.value = describeError(err)
      loading = null
    })
  return loading
}

export function useCategoryNames() {
  if (!loading) void reload()
  /** A category's name in the current language; the code itself while loading or if unknown. */
  function nameOf(code: string): string {
    const c = find(code, tree.value)
    return c ? categoryName(c) : code
  }
  /** The category with this code anywhere in the tree. */
  function findCategory(code: string): Category | null {
    return find(code, tree.value)
  }
  return { categories: tree, error, reload, nameOf, findCategory }
}
