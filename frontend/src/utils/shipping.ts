// Free shipping as a cart or checkout says it: the threshold in force and what the goods still lack come from
// the pricing engine's breakdown (the settings and the running free-shipping promotions).
import type { Breakdown } from '@/api/types'

/** A cart is close to free shipping when it lacks at most this share of the threshold. */
export const CLOSE_SHARE = 0.5

export type ShippingHint =
  | { kind: 'free' } // shipping is free already
  | { kind: 'gap'; gapFen: number; fromFen: number } // close: 还差 ¥x 包邮
  | { kind: 'from'; fromFen: number } // further off: 满 ¥x 包邮

type Terms = Pick<Breakdown, 'goods_fen' | 'shipping_fen' | 'free_shipping_from_fen' | 'free_shipping_gap_fen'>

/** What to say about free shipping for a breakdown; null for an empty cart. */
export function shippingHint(b: Terms): ShippingHint | null {
  if (b.goods_fen <= 0) return null
  if (b.shipping_fen === 0 || b.free_shipping_gap_fen <= 0) return { kind: 'free' }
  if (b.free_shipping_gap_fen <= b.free_shipping_from_fen * CLOSE_SHARE) {
    return { kind: 'gap', gapFen: b.free_shipping_gap_fen, fromFen: b.free_shipping_from_fen }
  }
  return { kind: 'from', fromFen: b.free_shipping_from_fen }
}
