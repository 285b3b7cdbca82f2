// The shopping cart: works for guests (the API answers a `guest_token`, kept in localStorage and sent
// back as X-Cart-Token) and for customers; after login/register the guest cart is merged once.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { cartApi } from '@/api/services'
import type { Cart } from '@/api/types'
import { useAuthStore } from './auth'
import { productRef, tracker } from '@/tracking/tracker'

/** Segment's Product Added / Product Removed for a quantity change of one line. */
function trackChange(before: Cart | null, after: Cart | null, productId: number) {
  const old = before?.lines.find((l) => l.product.id === productId)
  const now = after?.lines.find((l) => l.product.id === productId)
  const delta = (now?.quantity ?? 0) - (old?.quantity ?? 0)
  const product = now?.product ?? old?.product
  if (!delta || !product) return
  tracker.track(delta > 0 ? 'Product Added' : 'Product Removed', productRef(product, Math.abs(delta)))
}

export const CART_TOKEN_KEY = 'medreach.cartToken'

function readToken(): string | null {
  try {
    return localStorage.getItem(CART_TOKEN_KEY)
  } catch {
    return null
  }
}

export const useCartStore = defineStore('cart', () => {
  const cart = ref<Cart | null>(null)
  const token = ref<string | null>(readToken())
  const loading = ref(false)

  const itemCount = computed(() => cart.value?.item_count ?? 0)
  const lines = computed(() => cart.value?.lines ?? [])

  function saveToken(value: string | null) {
    token.value = value
    try {
      if (value) localStorage.setItem(CART_TOKEN_KEY, value)
      else localStorage.removeItem(CART_TOKEN_KEY)
    } catch {
      /* storage unavailable */
    }
  }

  /** The token to send: only guests identify their cart by it. */
  function sendToken(): string | null {
    return useAuthStore().isLoggedIn ? null : token.value
  }

  function accept(next: Cart): Cart {
    cart.value = next
    if (next.guest_token && !useAuthStore().isLoggedIn) saveToken(next.guest_token)
    return next
  }

  async function load(): Promise<Cart | null> {
    loading.value = true
    try {
      return accept(await cartApi.get(sendToken()))
    } finally {
      loading.value = false
    }
  }

  async function add(productId: number, quantity = 1): Promise<Cart> {
    const before = cart.value
    const next = accept(await cartApi.add(sendToken(), productId, quantity))
    const line = next.lines.find((l) => l.product.id === productId)
    // The cart may not have been loaded on this page: report the quantity asked for.
    if (line) tracker.track('Product Added', productRef(line.product, quantity))
    else trackChange(before, next, productId)
    return next
  }

  async function setQuantity(productId: number, quantity: number): Promise<Cart> {
    const before = cart.value
    const next = accept(await cartApi.setQuantity(sendToken(), productId, quantity))
    trackChange(before, next, productId)
    return next
  }

  async function remove(productId: number): Promise<Cart> {
    const before = cart.value
    const next = accept(await cartApi.remove(sendToken(), productId))
    trackChange(before, next, productId)
    return next
  }

  /** After login/register: move the guest cart into the account (once), then forget the token. */
  async function mergeGuestCart(): Promise<void> {
    const guest = token.value
    if (!guest) {
      await load().catch(() => null)
      return
    }
    saveToken(null)
    try {
      accept(await cartApi.merge(guest))
    } catch {
      await load().catch(() => null)
    }
  }

  /** Logged out: the account's cart is no longer ours to show. */
  function reset() {
    cart.value = null
  }

  return { cart, token, loading, itemCount, lines, load, add, setQuantity, remove, mergeGuestCart, reset }
})
