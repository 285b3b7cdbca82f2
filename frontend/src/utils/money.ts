// Money: the API speaks integer fen (1 yuan = 100 fen); the UI shows yuan with two decimals.

/** 1234 → "¥12.34" */
export function formatFen(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isFinite(fen)) return '—'
  const sign = fen < 0 ? '-' : ''
  return `${sign}¥${(Math.abs(fen) / 100).toFixed(2)}`
}

/** A yuan amount typed by a person → integer fen; null for blank or invalid input. */
export function yuanToFen(yuan: string | number | null | undefined): number | null {
  if (yuan === null || yuan === undefined || yuan === '') return null
  const n = typeof yuan === 'number' ? yuan : Number(String(yuan).trim())
  if (!Number.isFinite(n) || n < 0) return null
  return Math.round(n * 100)
}

/** Integer fen → a yuan number for an input (1234 → 12.34). */
export function fenToYuan(fen: number | null | undefined): number | null {
  return fen === null || fen === undefined ? null : fen / 100
}

/** Fen as yuan without needless decimals, for amounts in a sentence: 5900 → "¥59", 5950 → "¥59.50". */
export function formatFenShort(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isFinite(fen)) return '—'
  return fen % 100 === 0 ? `${fen < 0 ? '-' : ''}¥${Math.abs(fen) / 100}` : formatFen(fen)
}
