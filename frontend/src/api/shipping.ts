// Shipping terms (/shipping): the flat fee and the free-shipping threshold in force now, from the settings and
// the running free-shipping promotions. The storefront never writes a threshold of its own.
import { api } from './client'

export interface ShippingTerms {
  shipping_fen: number
  free_shipping_from_fen: number
  /** The running promotion that sets the threshold, when one does. */
  promotion_name: string | null
}

export const shippingApi = {
  terms: () => api.get<ShippingTerms>('/shipping', undefined, { auth: false }),
}
