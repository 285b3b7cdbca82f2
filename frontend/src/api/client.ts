// The one fetch wrapper used by the whole app.
//
// - Prefixes every path with /api/v1 and speaks JSON.
// - Adds `Authorization: Bearer <access_token>` from localStorage (`medreach.tokens`).
// - On a 401 whose problem code is TOKEN_EXPIRED or INVALID_TOKEN it refreshes the
//   tokens once (one refresh in flight at a time) and retries the request; if the
//   refresh fails it clears the tokens and calls the auth-failure handler (the auth
//   store logs out and the router goes to the login page).
// - Failed responses are thrown as ApiError, built from RFC 9457 problem+json.

import type { FieldError, Problem, Tokens } from './types'
import { anonymousIdHeader, isOptedOut } from '@/tracking/tracker'

export const API_BASE = '/api/v1'
export const TOKENS_KEY = 'medreach.tokens'

const REFRESHABLE_CODES = new Set(['TOKEN_EXPIRED', 'INVALID_TOKEN'])

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly errors: FieldError[]
  readonly retryAfter: number | null
  readonly requestId: string | null
  readonly problem: Problem

  constructor(status: number, problem: Problem, retryAfterHeader?: string | null) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
    this.code = problem.code || (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`)
    this.title = problem.title || ''
    this.detail = problem.detail || ''
    this.errors = Array.isArray(problem.errors) ? problem.errors : []
    this.requestId = problem.request_id || null
    const retry = problem.retry_after ?? (retryAfterHeader ? Number(retryAfterHeader) : null)
    this.retryAfter = retry != null && Number.isFinite(Number(retry)) ? Number(retry) : null
  }
}

// ---------------------------------------------------------------- token storage

export function getTokens(): Tokens | null {
  try {
    const raw = localStorage.getItem(TOKENS_KEY)
    if (!raw) return null
    const parsed = JSON.parse(raw) as Tokens
    return parsed && parsed.access_token ? parsed : null
  } catch {
    return null
  }
}

export function setTokens(tokens: Tokens): void {
  localStorage.setItem(TOKENS_KEY, JSON.stringify(tokens))
}

export function clearTokens(): void {
  localStorage.removeItem(TOKENS_KEY)
}

// ---------------------------------------------------------------- hooks

let authFailureHandler: (() => void) | null = null
let requestLocale = 'zh-CN'

/** Called once when a refresh fails: the session is over. */
export function setAuthFailureHandler(handler: () => void): void {
  authFailureHandler = handler
}

/** Sent as Accept-Language so the backend can localise `detail` if it wants to. */
export function setRequestLocale(locale: string): void {
  requestLocale = locale
}

// ---------------------------------------------------------------- request

export type QueryValue = string | number | boolean | null | undefined
/** Array values are sent as repeated parameters (`drug_class=otc_a&drug_class=otc_b`). */
export type Query = Record<string, QueryValue | QueryValue[]>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  query?: Query
  body?: unknown
  /** Attach the bearer token (default true). */
  auth?: boolean
  signal?: AbortSignal
  /** Extra request headers (X-Cart-Token, Idempotency-Key, ...). */
  headers?: Record<string, string>
  /** Read the answer as a Blob (downloads, prescription files) instead of JSON. */
  blob?: boolean
}

function buildUrl(path: string, query?: Query): string {
  let url = API_BASE + path
  if (query) {
    const params = new URLSearchParams()
    for (const [key, raw] of Object.entries(query)) {
      for (const value of Array.isArray(raw) ? raw : [raw]) {
        if (value === undefined || value === null || value === '') continue
        params.append(key, String(value))
      }
    }
    const qs = params.toString()
    if (qs) url += (url.includes('?') ? '&' : '?') + qs
  }
  return url
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined
  const text = await res.text()
  if (!text) return undefined
  const type = res.headers.get('content-type') || ''
  if (type.includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

async function send(path: string, opts: RequestOptions, accessToken: string | null) {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    'Accept-Language': requestLocale,
    ...(opts.headers || {}),
  }
  // FormData (uploads) sets its own multipart Content-Type with the boundary.
  const isForm = typeof FormData !== 'undefined' && opts.body instanceof FormData
  if (opts.body !== undefined && !isForm) headers['Content-Type'] = 'application/json'
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`
  // The tracker's anonymous id, so server-side events carry the same id as the browser's; when the shopper
  // opted out, the server is told so and records no behaviour events for the request.
  const anon = anonymousIdHeader()
  if (anon) headers['X-Anonymous-Id'] = anon
  else if (isOptedOut()) headers['X-Tracking-Opt-Out'] = '1'
  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method: opts.method || 'GET',
      headers,
      body: opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body),
      signal: opts.signal,
      credentials: 'same-origin',
    })
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err
    throw new ApiError(0, { title: 'Network error', code: 'NETWORK_ERROR' })
  }
  const data = opts.blob && res.ok ? await res.blob() : await readBody(res)
  return { res, data }
}

function toError(res: Response, data: unknown): ApiError {
  const problem: Problem =
    data && typeof data === 'object'
      ? (data as Problem)
      : { title: res.statusText, detail: typeof data === 'string' ? data.slice(0, 300) : undefined }
  if (problem.status === undefined) problem.status = res.status
  return new ApiError(res.status, problem, res.headers.get('Retry-After'))
}

let refreshInFlight: Promise<Tokens | null> | null = null

/**
 * Run `fn` holding a lock shared by every tab of the site (Web Locks API, where the
 * browser has it). The backend treats a refresh token presented twice as stolen and
 * revokes the whole session, so two tabs must never refresh with the same token.
 */
function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  // Undefined outside secure contexts (plain http on a non-localhost host).
  const locks = (navigator as { locks?: LockManager }).locks
  return locks ? (locks.request('medreach.tokens.refresh', fn) as Promise<T>) : fn()
}

/**
 * Exchange the refresh token for new tokens; null if the session cannot be renewed.
 * `staleAccessToken` is the token a request was refused with: if storage already holds
 * a different one (another tab or call refreshed meanwhile), that one is used instead.
 */
export function refreshTokens(staleAccessToken?: string): Promise<Tokens | null> {
  if (!refreshInFlight) {
    refreshInFlight = withRefreshLock(async () => {
      const current = getTokens()
      if (!current?.refresh_token) return null
      if (staleAccessToken && current.access_token !== staleAccessToken) return current
      const { res, data } = await send(
        '/auth/refresh',
        { method: 'POST', body: { refresh_token: current.refresh_token } },
        null,
      )
      if (!res.ok) {
        if (res.status >= 500) throw toError(res, data) // server trouble: keep the session
        return null
      }
      const tokens = data as Tokens
      setTokens(tokens)
      return tokens
    }).finally(() => {
      refreshInFlight = null
    })
  }
  return refreshInFlight
}

export async function request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const useAuth = opts.auth !== false
  const sentToken = useAuth ? getTokens()?.access_token ?? null : null
  let { res, data } = await send(path, opts, sentToken)

  if (res.status === 401 && sentToken) {
    const err = toError(res, data)
    if (!REFRESHABLE_CODES.has(err.code)) throw err
    const renewed = await refreshTokens(sentToken)
    const next = renewed?.access_token ?? null
    if (!next) {
      clearTokens()
      authFailureHandler?.()
      throw err
    }
    ;({ res, data } = await send(path, opts, next))
    if (res.status === 401) {
      clearTokens()
      authFailureHandler?.()
    }
  }

  if (!res.ok) throw toError(res, data)
  return data as T
}

/** GET a binary resource with the bearer token (and the usual refresh-and-retry). */
export function requestBlob(path: string, query?: Query): Promise<Blob> {
  return request<Blob>(path, { method: 'GET', query, blob: true })
}

export const api = {
  get: <T>(path: string, query?: Query, opts: Omit<RequestOptions, 'method' | 'query'> = {}) =>
    request<T>(path, { ...opts, method: 'GET', query }),
  post: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'method' | 'body'> = {}) =>
    request<T>(path, { ...opts, method: 'POST', body }),
  patch: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'method' | 'body'> = {}) =>
    request<T>(path, { ...opts, method: 'PATCH', body }),
  put: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'method' | 'body'> = {}) =>
    request<T>(path, { ...opts, method: 'PUT', body }),
  del: <T = void>(path: string, opts: Omit<RequestOptions, 'method'> = {}) =>
    request<T>(path, { ...opts, method: 'DELETE' }),
}
