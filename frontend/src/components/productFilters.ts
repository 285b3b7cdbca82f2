import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import type { DrugClass, ProductSearchQuery, ProductSort } from '@/api/types'
import { DRUG_CLASSES } from '@/api/types'
import { yuanToFen } from '@/utils/money'

/** The listing's filters as the page keeps them (prices in yuan, as typed). */
export interface Filters {
  category: string
  drug_class: DrugClass[]
  min: string
  max: string
  brand: string
  manufacturer: string
}

export const SORTS: ProductSort[] = ['relevance', 'price_asc', 'price_desc', 'sales', 'newest']
export const PAGE_SIZE = 20

function one(v: LocationQuery[string]): string {
  const x = Array.isArray(v) ? v[0] : v
  return typeof x === 'string' ? x : ''
}

function many(v: LocationQuery[string]): string[] {
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x !== '')
}

export interface ListingState {
  q: string
  sort: ProductSort
  page: number
  filters: Filters
}

/** The URL query (/products?q=&category=&drug_class=&min=&max=&brand=&manufacturer=&sort=&page=) → state. */
export function fromQuery(query: LocationQuery): ListingState {
  const sort = one(query.sort) as ProductSort
  const page = Number(one(query.page)) || 1
  return {
    q: one(query.q),
    sort: SORTS.includes(sort) ? sort : 'relevance',
    page: page > 0 ? Math.floor(page) : 1,
    filters: {
      category: one(query.category),
      drug_class: many(query.drug_class).filter((c): c is DrugClass => (DRUG_CLASSES as string[]).includes(c)),
      min: one(query.min),
      max: one(query.max),
      brand: one(query.brand),
      manufacturer: one(query.manufacturer),
    },
  }
}

export function toQuery(state: ListingState): LocationQueryRaw {
  const f = state.filters
  const out: LocationQueryRaw = {}
  if (state.q) out.q = state.q
  if (f.category) out.category = f.category
  if (f.drug_class.length) out.drug_class = f.drug_class
  if (f.min) out.min = f.min
  if (f.max) out.max = f.max
  if (f.brand) out.brand = f.brand
  if (f.manufacturer) out.manufacturer = f.manufacturer
  if (state.sort !== 'relevance') out.sort = state.sort
  if (state.page > 1) out.page = String(state.page)
  return out
}

/** State → the API's query: yuan → fen with Math.round(yuan * 100). */
export function toApi(state: ListingState): ProductSearchQuery {
  const f = state.filters
  return {
    q: state.q || undefined,
    category: f.category || undefined,
    drug_class: f.drug_class.length ? f.drug_class : undefined,
    price_min: yuanToFen(f.min) ?? undefined,
    price_max: yuanToFen(f.max) ?? undefined,
    brand: f.brand || undefined,
    manufacturer: f.manufacturer || undefined,
    sort: state.sort,
    limit: PAGE_SIZE,
    offset: (state.page - 1) * PAGE_SIZE,
  }
}

export function activeFilterCount(f: Filters): number {
  return [f.category, f.min || f.max, f.brand, f.manufacturer].filter(Boolean).length + f.drug_class.length
}
