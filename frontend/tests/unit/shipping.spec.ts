import { describe, expect, it } from 'vitest'
import { formatFenShort } from '@/utils/money'
import { shippingHint } from '@/utils/shipping'

const terms = (goods: number, shipping: number, from: number) => ({
  goods_fen: goods,
  shipping_fen: shipping,
  free_shipping_from_fen: from,
  free_shipping_gap_fen: shipping ? Math.max(from - goods, 0) : 0,
})

describe('free-shipping hint', () => {
  it('names the gap when a cart is close to the threshold it was priced with', () => {
    expect(shippingHint(terms(4500, 1000, 5900))).toEqual({ kind: 'gap', gapFen: 1400, fromFen: 5900 })
    expect(shippingHint(terms(2950, 1000, 5900))).toEqual({ kind: 'gap', gapFen: 2950, fromFen: 5900 })
  })

  it('names the threshold when the cart is further off, and nothing for an empty cart', () => {
    expect(shippingHint(terms(1500, 1000, 5900))).toEqual({ kind: 'from', fromFen: 5900 })
    expect(shippingHint(terms(1500, 1000, 9900))).toEqual({ kind: 'from', fromFen: 9900 })
    expect(shippingHint(terms(0, 0, 5900))).toBeNull()
  })

  it('says shipping is free once the threshold is met', () => {
    expect(shippingHint(terms(5900, 0, 5900))).toEqual({ kind: 'free' })
  })

  it('writes whole yuan without decimals', () => {
    expect(formatFenShort(5900)).toBe('¥59')
    expect(formatFenShort(5950)).toBe('¥59.50')
    expect(formatFenShort(null)).toBe('—')
  })
})
