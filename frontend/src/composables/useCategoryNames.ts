import { ref } from 'vue'
import { catalogApi } from '@/api/services'
import type { Category } from '@/api/types'
import { categoryName } from '@/utils/labels'

// The category tree, fetched once for the whole app, for showing category codes by name.
const tree = ref<Category[]>([])
let loading: Promise<void> | null = null

function find(code: string, list: Category[]): Category | null {
  for (const c of list) {
    if (c.code === code) return c
    const hit = find(code, c.children)
    if (hit) return hit
  }
  return null
}

export function useCategoryNames() {
  if (!loading) {
    loading = catalogApi
      .categories()
      .then((c) => {
        tree.value = c
      })
      .catch(() => {
        loading = null
      })
  }
  /** A category's name in the current language; the code itself while loading or if unknown. */
  function nameOf(code: string): string {
    const c = find(code, tree.value)
    return c ? categoryName(c) : code
  }
  return { categories: tree, nameOf }
}
