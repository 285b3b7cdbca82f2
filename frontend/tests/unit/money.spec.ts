import { describe, expect, it } from 'vitest'
import { fenToYuan, formatFen, yuanToFen } from '@/utils/money'

describe('money', () => {
  it('shows fen as yuan with two decimals', () => {
    expect(formatFen(1234)).toBe('¥12.34')
    expect(formatFen(-5)).toBe('-¥0.05')
    expect(formatFen(null)).toBe('—')
  })

  it('reads typed yuan as whole fen', () => {
    expect(yuanToFen('12.345')).toBe(1235)
    expect(yuanToFen(0.1 + 0.2)).toBe(30)
    expect(yuanToFen('')).toBeNull()
    expect(yuanToFen('-1')).toBeNull()
    expect(yuanToFen('abc')).toBeNull()
    expect(fenToYuan(1234)).toBe(12.34)
  })
})
