import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { clearTokens, getTokens, setTokens } from '@/api/client'
import { authApi, consentApi, meApi, type RegisterInput } from '@/api/services'
import type { Me, ProfilePatch } from '@/api/types'
import { useCartStore } from './cart'
import { isOptedOut, tracker } from '@/tracking/tracker'

/**
 * After login: the account's decision on behaviour analytics (made on any device) wins over this browser's;
 * a browser that opted out before the account ever decided passes its choice on to the account.
 */
async function syncTrackingConsent(): Promise<void> {
  try {
    const consent = (await consentApi.list()).find((c) => c.purpose === 'behaviour_analytics')
    if (!consent) return
    if (consent.decided_at) tracker.setOptOut(!consent.granted)
    else if (isOptedOut()) await consentApi.decide('behaviour_analytics', false)
  } catch {
    /* the shop works without it; the browser's own choice still holds */
  }
}

export const useAuthStore = defineStore('auth', () => {
  const user = ref<Me | null>(null)
  /** True while we hold tokens (the user may not be loaded yet). */
  const hasTokens = ref(getTokens() !== null)
  let loading: Promise<Me | null> | null = null

  const isLoggedIn = computed(() => user.value !== null)
  const isStaff = computed(() => user.value?.is_staff === true)
  const roles = computed(() => user.value?.roles ?? [])
  const permissions = computed(() => user.value?.permissions ?? [])
  const displayName = computed(() => {
    const u = user.value
    if (!u) return ''
    return u.name || u.phone || u.email || String(u.id)
  })

  function can(permission?: string | null): boolean {
    if (!permission) return true
    return permissions.value.includes(permission)
  }

  function acceptSession(result: { user: Me; tokens: Parameters<typeof setTokens>[0] }) {
    setTokens(result.tokens)
    hasTokens.value = true
    user.value = result.user
  }

  async function login(login: string, password: string): Promise<Me> {
    const result = await authApi.login(login, password)
    acceptSession(result)
    if (!result.user.is_staff) {
      await syncTrackingConsent()
      tracker.identify(result.user.id)
      await useCartStore().mergeGuestCart()
    }
    return result.user
  }

  async function register(input: RegisterInput): Promise<Me> {
    const result = await authApi.register(input)
    acceptSession(result)
    await syncTrackingConsent()
    tracker.identify(result.user.id)
    await useCartStore().mergeGuestCart()
    return result.user
  }

  /** Load the current user once if we hold tokens; later calls reuse the result. */
  function ensureLoaded(): Promise<Me | null> {
    if (user.value) return Promise.resolve(user.value)
    if (!getTokens()) {
      hasTokens.value = false
      return Promise.resolve(null)
    }
    if (!loading) {
      loading = meApi
        .get()
        .then((me) => {
          user.value = me
          return me
        })
        .catch(() => {
          // A rejected or unreachable session: treat as logged out, keep tokens only
          // if the failure was not about them (the client clears them on auth failure).
          hasTokens.value = getTokens() !== null
          return null
        })
        .finally(() => {
          loading = null
        })
    }
    return loading
  }

  async function refreshMe(): Promise<Me> {
    const me = await meApi.get()
    user.value = me
    return me
  }

  async function updateProfile(patch: ProfilePatch): Promise<Me> {
    const me = await meApi.update(patch)
    user.value = me
    return me
  }

  /** Forget the session locally (no server call). */
  function reset() {
    clearTokens()
    hasTokens.value = false
    user.value = null
    useCartStore().reset()
  }

  /** Revoke the refresh token on the server (best effort) and forget the session. */
  async function logout(): Promise<void> {
    tracker.reset()
    const tokens = getTokens()
    if (tokens?.refresh_token) {
      try {
        await authApi.logout(tokens.refresh_token)
      } catch {
        /* the session is ending anyway */
      }
    }
    reset()
  }

  return {
    user,
    hasTokens,
    isLoggedIn,
    isStaff,
    roles,
    permissions,
    displayName,
    can,
    login,
    register,
    ensureLoaded,
    refreshMe,
    updateProfile,
    reset,
    logout,
  }
})
