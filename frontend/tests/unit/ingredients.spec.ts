import { describe, expect, it } from 'vitest'
import { formatIngredients, parseIngredients } from '@/utils/ingredients'

describe('ingredients', () => {
  it('reads the import format, with or without amounts and in full-width punctuation', () => {
    expect(parseIngredients('pseudoephedrine:90mg; chlorphenamine：4 mg；tcm_banlangen')).toEqual([
      { code: 'pseudoephedrine', amount: 90, unit: 'mg' },
      { code: 'chlorphenamine', amount: 4, unit: 'mg' },
      { code: 'tcm_banlangen', amount: null, unit: '' },
    ])
    expect(parseIngredients(' ; ')).toEqual([])
  })

  it('writes what it reads', () => {
    const items = parseIngredients('paracetamol:325mg;ibuprofen:20mg/ml;vitamin_c')
    expect(formatIngredients(items)).toBe('paracetamol:325mg; ibuprofen:20mg/ml; vitamin_c')
    expect(parseIngredients(formatIngredients(items))).toEqual(items)
  })
})
