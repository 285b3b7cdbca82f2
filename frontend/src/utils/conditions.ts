// A rule tag's condition tree (docs/profiles.md: all / any / not over field, tag and event conditions) as the
// console edits it — groups and rows with their values as typed — and back to the JSON the API checks. Money
// columns (…_fen) are typed in yuan and sent in fen. A tree the editor cannot show (a shape it does not know) is
// edited as JSON instead.

export type FieldKind = 'number' | 'string' | 'bool' | 'list' | 'time'

/** The customer table's columns a rule may read, with their kind (as the server's field_kind gives it). */
export const RULE_FIELDS: Record<string, FieldKind> = {
  gender: 'string',
  age: 'number',
  age_band: 'string',
  is_minor: 'bool',
  city: 'string',
  city_tier: 'number',
  region: 'string',
  occupation: 'string',
  orders: 'number',
  first_order_at: 'time',
  last_order_at: 'time',
  recency_days: 'number',
  monetary_fen: 'number',
  aov_fen: 'number',
  purchase_interval_days: 'number',
  price_sensitivity: 'number',
  r_score: 'number',
  f_score: 'number',
  m_score: 'number',
  rfm_group: 'string',
  p_alive: 'number',
  expected_orders_90d: 'number',
  expected_value_12m_fen: 'number',
  churn_risk: 'number',
  propensity_30d: 'number',
  top_categories: 'list',
  top_brands: 'list',
  events: 'number',
  sessions: 'number',
  product_views: 'number',
  searches: 'number',
  cart_adds: 'number',
  last_seen_at: 'time',
  last_active_days: 'number',
  consent_marketing_sms: 'bool',
  consent_marketing_email: 'bool',
  consent_marketing_push: 'bool',
  consent_personalization: 'bool',
}

/** The operators of each kind of column (the server's FIELD_OPS), in the order the editor offers them. */
export const FIELD_OPS: Record<FieldKind, string[]> = {
  number: ['ge', 'gt', 'le', 'lt', 'eq', 'ne', 'between', 'in', 'not_in', 'is_null', 'not_null'],
  string: ['eq', 'ne', 'in', 'not_in', 'is_null', 'not_null'],
  bool: ['eq', 'ne', 'is_null', 'not_null'],
  list: ['contains', 'is_null', 'not_null'],
  time: ['not_null', 'is_null'],
}
export const TAG_OPS = ['exists', 'eq', 'ne', 'in', 'not_in', 'ge', 'gt', 'le', 'lt']
/** Operators that take no value. */
export const NO_VALUE = ['is_null', 'not_null', 'exists']

export interface FieldRow {
  type: 'field'
  field: string
  op: string
  value: string
  negate: boolean
}
export interface TagRow {
  type: 'tag'
  tag: string
  op: string
  value: string
  negate: boolean
}
export interface EventRow {
  type: 'event'
  event: string
  category: string
  min: number | null
  withinDays: number | null
  negate: boolean
}
export interface Group {
  type: 'group'
  op: 'all' | 'any'
  negate: boolean
  children: Node[]
}
export type Node = FieldRow | TagRow | EventRow | Group

export const MAX_DEPTH = 6

export function newField(): FieldRow {
  return { type: 'field', field: 'orders', op: 'ge', value: '1', negate: false }
}
export function newTag(): TagRow {
  return { type: 'tag', tag: 'rfm_group', op: 'eq', value: '', negate: false }
}
export function newEvent(): EventRow {
  return { type: 'event', event: 'Order Completed', category: '', min: 1, withinDays: 30, negate: false }
}
export function newGroup(op: 'all' | 'any' = 'all', children: Node[] = [newField()]): Group {
  return { type: 'group', op, negate: false, children }
}

const isMoney = (field: string) => field.endsWith('_fen')

function shown(field: string, v: unknown): string {
  if (typeof v === 'number' && isMoney(field)) return String(v / 100)
  return typeof v === 'string' ? v : JSON.stringify(v)
}

function textOf(field: string, op: string, value: unknown): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) return value.map((v) => shown(field, v)).join(', ')
  return shown(field, value)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function only(node: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(node).every((k) => keys.includes(k))
}

/** The editor's tree for a condition tree from the API, always a group at the top; null if it has a shape the
 * editor does not show (then the JSON is edited as text). */
export function fromJson(tree: unknown): Group | null {
  const node = read(tree, 1)
  if (!node) return null
  return node.type === 'group' ? node : newGroup('all', [node])
}

function read(tree: unknown, depth: number): Node | null {
  if (!isObject(tree) || depth > MAX_DEPTH) return null
  if ('not' in tree) {
    if (!only(tree, ['not'])) return null
    const inner = read(tree.not, depth + 1)
    if (!inner || inner.negate) return null
    return { ...inner, negate: true }
  }
  for (const op of ['all', 'any'] as const) {
    if (op in tree) {
      const list = tree[op]
      if (!only(tree, [op]) || !Array.isArray(list)) return null
      const children = list.map((c) => read(c, depth + 1))
      if (children.some((c) => c === null)) return null
      return { type: 'group', op, negate: false, children: children as Node[] }
    }
  }
  if (typeof tree.field === 'string') {
    if (!only(tree, ['field', 'op', 'value']) || !(tree.field in RULE_FIELDS)) return null
    const op = typeof tree.op === 'string' ? tree.op : 'eq'
    return { type: 'field', field: tree.field, op, value: textOf(tree.field, op, tree.value), negate: false }
  }
  if (typeof tree.tag === 'string') {
    if (!only(tree, ['tag', 'op', 'value'])) return null
    const op = typeof tree.op === 'string' ? tree.op : 'value' in tree ? 'eq' : 'exists'
    return { type: 'tag', tag: tree.tag, op, value: textOf('', op, tree.value), negate: false }
  }
  if (typeof tree.event === 'string') {
    if (!only(tree, ['event', 'category', 'min', 'within_days'])) return null
    return {
      type: 'event',
      event: tree.event,
      category: typeof tree.category === 'string' ? tree.category : '',
      min: typeof tree.min === 'number' ? tree.min : null,
      withinDays: typeof tree.within_days === 'number' ? tree.within_days : null,
      negate: false,
    }
  }
  return null
}

/** Why a tree cannot be sent: an i18n key under tags.tree.errors, and the row's place (e.g. "1.2"). */
export interface TreeError {
  key: 'emptyGroup' | 'noValue' | 'notNumber' | 'twoNumbers' | 'notBool' | 'noTag' | 'noEvent' | 'tooDeep'
  at: string
}

export class TreeInvalid extends Error {
  constructor(public readonly problem: TreeError) {
    super(`${problem.key} at ${problem.at}`)
  }
}

function parts(text: string): string[] {
  return text
    .split(/[,，、]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

function scalar(kind: FieldKind | 'tagNumber' | 'tagText', field: string, text: string, at: string): unknown {
  const t = text.trim()
  if (kind === 'number' || kind === 'tagNumber') {
    const n = Number(t)
    if (t === '' || !Number.isFinite(n)) throw new TreeInvalid({ key: 'notNumber', at })
    return isMoney(field) ? Math.round(n * 100) : n
  }
  if (kind === 'bool') {
    if (t !== 'true' && t !== 'false') throw new TreeInvalid({ key: 'notBool', at })
    return t === 'true'
  }
  if (!t) throw new TreeInvalid({ key: 'noValue', at })
  return t
}

function valueOf(kind: FieldKind | 'tagNumber' | 'tagText', field: string, op: string, text: string, at: string) {
  if (op === 'in' || op === 'not_in') {
    const list = parts(text)
    if (!list.length) throw new TreeInvalid({ key: 'noValue', at })
    return list.map((p) => scalar(kind, field, p, at))
  }
  if (op === 'between') {
    const list = parts(text)
    if (list.length !== 2) throw new TreeInvalid({ key: 'twoNumbers', at })
    const [lo, hi] = list.map((p) => scalar(kind, field, p, at)) as number[]
    if (lo > hi) throw new TreeInvalid({ key: 'twoNumbers', at })
    return [lo, hi]
  }
  return scalar(kind, field, text, at)
}

/** The condition tree the API takes for the editor's tree; throws TreeInvalid naming the first row that is not
 * complete. */
export function toJson(node: Node, at = '1', depth = 1): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new TreeInvalid({ key: 'tooDeep', at })
  let out: Record<string, unknown>
  if (node.type === 'group') {
    if (!node.children.length) throw new TreeInvalid({ key: 'emptyGroup', at })
    out = { [node.op]: node.children.map((c, i) => toJson(c, `${at}.${i + 1}`, depth + 1)) }
  } else if (node.type === 'field') {
    const kind = RULE_FIELDS[node.field] ?? 'string'
    out = { field: node.field, op: node.op }
    if (!NO_VALUE.includes(node.op)) out.value = valueOf(kind, node.field, node.op, node.value, at)
  } else if (node.type === 'tag') {
    if (!node.tag) throw new TreeInvalid({ key: 'noTag', at })
    out = { tag: node.tag, op: node.op }
    if (!NO_VALUE.includes(node.op)) {
      const kind = ['gt', 'ge', 'lt', 'le'].includes(node.op) ? 'tagNumber' : 'tagText'
      out.value = valueOf(kind, '', node.op, node.value, at)
    }
  } else {
    if (!node.event) throw new TreeInvalid({ key: 'noEvent', at })
    out = { event: node.event }
    if (node.category) out.category = node.category
    if (node.min) out.min = node.min
    if (node.withinDays) out.within_days = node.withinDays
  }
  return node.negate ? { not: out } : out
}

/** How many rows (leaf conditions) a tree has. */
export function countRows(node: Node): number {
  return node.type === 'group' ? node.children.reduce((n, c) => n + countRows(c), 0) : 1
}
