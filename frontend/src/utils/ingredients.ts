import type { ActiveIngredient } from '@/api/types'

/** One ingredient as typed: a code or name, optionally ':' and an amount with its unit ("pseudoephedrine:90mg"). */
const PART = /^([^:：]+?)\s*(?:[:：]\s*(\d+(?:\.\d+)?)\s*(\S*))?$/

/** "pseudoephedrine:90mg; chlorphenamine:4mg" (the import file's cell format) as ingredients. */
export function parseIngredients(text: string): ActiveIngredient[] {
  return text
    .replace(/；/g, ';')
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((part) => {
      const m = PART.exec(part)
      if (!m) return { code: part, amount: null, unit: '' }
      return { code: m[1].trim(), amount: m[2] ? Number(m[2]) : null, unit: m[2] ? m[3] || '' : '' }
    })
}

/** Ingredients in the same format, for editing. */
export function formatIngredients(items: readonly ActiveIngredient[]): string {
  return items.map((i) => (i.amount === null || i.amount === undefined ? i.code : `${i.code}:${i.amount}${i.unit}`)).join('; ')
}
