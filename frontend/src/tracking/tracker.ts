// The storefront's Segment-compatible tracker (one module-level singleton, no Pinia).
//
// - Calls (`page`, `track`, `identify`) are queued and POSTed to `/v1/batch` every 2 s, or at once when
//   20 are waiting. Every POST is a `fetch(..., {keepalive: true})` of at most 28 KB, so a batch in flight
//   outlives a navigation; when the page is hidden or unloaded (`visibilitychange`, `pagehide`) what is
//   waiting goes out the same way at once. Two such batches fit the browsers' 64 KB keepalive budget.
// - Network errors, 429 (honouring Retry-After) and 5xx keep the events and retry with exponential back-off;
//   an event leaves the queue only once the collector answered for it. The queue is kept in localStorage
//   (`medreach.trackingQueue`, at most 500 events, oldest dropped first), so a reload or a later visit sends
//   what is left. The collector de-duplicates by messageId, so a resend is harmless.
// - Identity: the collector believes a userId from this public key only with the server's signed token for
//   that user. Once the app says who is signed in (`identify`, `setUserId`), the tracker asks the `identity`
//   source given to `init` (GET /api/v1/tracking/identity) for a token, renews it before it expires, and
//   adds it to each of that user's events as `context.identityToken` when sending (never stored in the
//   queue). Events without a valid token are kept by the collector as anonymous ones.
// - The anonymous id lives in the first-party cookie `mr_anon_id` (1 year, SameSite=Lax); the API client
//   also sends it as `X-Anonymous-Id` so server-side events carry the same id.
// - The write key: localStorage `medreach.trackingWriteKey` (an override for tests and debugging) wins,
//   else `GET /api/v1/tracking/config` → `{write_key, enabled}`. No key (404, error, disabled): the
//   tracker is off and its queue is cleared.
// - Opt-out: localStorage `medreach.trackingOptOut` ('1' off, '0' on); unset → `navigator.doNotTrack`.
//   Opted out, nothing is queued or sent and the queue is cleared.
import { uuid } from '@/utils/uuid'

export const OPT_OUT_KEY = 'medreach.trackingOptOut'
export const WRITE_KEY_OVERRIDE = 'medreach.trackingWriteKey'
export const QUEUE_KEY = 'medreach.trackingQueue'
export const USER_ID_KEY = 'medreach.trackingUserId'
export const SENT_ORDERS_KEY = 'medreach.trackedOrders'
export const UTM_KEY = 'medreach.utm'
export const ANON_COOKIE = 'mr_anon_id'

const ENDPOINT = '/v1/batch'
const CONFIG_URL = '/api/v1/tracking/config'
const FLUSH_INTERVAL_MS = 2000
const FLUSH_AT = 20
const MAX_QUEUE = 500
const MAX_BATCH_BYTES = 28 * 1024 // keepalive requests in flight share 64 KB: two batches fit
const TOKEN_BYTES = 160 // what context.identityToken adds to an event
const MAX_BACKOFF_MS = 60_000
const PROOF_RENEW_MS = 5 * 60_000 // renew the identity token this long before it expires
const PROOF_RETRY_MS = 60_000 // after a failed token request, wait this long before asking again
const ONE_YEAR_S = 365 * 24 * 3600
const LIBRARY = { name: 'medreach-web', version: '1.0.0' }

export type Properties = Record<string, unknown>

export interface SegmentEvent {
  type: 'page' | 'track' | 'identify'
  messageId: string
  anonymousId: string
  userId?: string
  event?: string
  name?: string
  properties?: Properties
  traits?: Properties
  context: Properties
  originalTimestamp: string
}

type State = 'pending' | 'enabled' | 'disabled'

/** GET /api/v1/tracking/identity: the signed-in user's proof for the collector. */
export interface IdentityProof {
  user_id: string
  token: string
  expires_at: string
}
export type IdentitySource = () => Promise<IdentityProof>

const encoder = new TextEncoder()
function byteLength(text: string): number {
  return encoder.encode(text).length
}

// ---------------------------------------------------------------- storage helpers

function lsGet(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function lsSet(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key)
    else localStorage.setItem(key, value)
  } catch {
    /* storage full or unavailable: tracking is best effort */
  }
}

function readCookie(name: string): string | null {
  const prefix = name + '='
  for (const part of document.cookie.split(';')) {
    const c = part.trim()
    if (c.startsWith(prefix)) return decodeURIComponent(c.slice(prefix.length)) || null
  }
  return null
}

function writeCookie(name: string, value: string): void {
  const secure = location.protocol === 'https:' ? '; Secure' : ''
  document.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${ONE_YEAR_S}; Path=/; SameSite=Lax${secure}`
}

// ---------------------------------------------------------------- opt-out and ids

/** True when the shopper has switched behaviour analytics off (or the browser asks not to be tracked). */
export function isOptedOut(): boolean {
  const stored = lsGet(OPT_OUT_KEY)
  if (stored === '1') return true
  if (stored === '0') return false
  return typeof navigator !== 'undefined' && navigator.doNotTrack === '1'
}

/** The anonymous id from the `mr_anon_id` cookie, created (uuid, 1 year) when missing. */
export function anonymousId(): string {
  let id = readCookie(ANON_COOKIE)
  if (!id) {
    id = uuid()
    writeCookie(ANON_COOKIE, id)
  }
  return id
}

/** What the API client sends as X-Anonymous-Id (nothing when opted out). */
export function anonymousIdHeader(): string | null {
  if (isOptedOut()) return null
  try {
    return anonymousId()
  } catch {
    return null
  }
}

// ---------------------------------------------------------------- campaign (UTM)

const UTM_FIELDS: [string, string][] = [
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_campaign', 'name'],
  ['utm_term', 'term'],
  ['utm_content', 'content'],
]

/** Read utm_* from a landing URL into sessionStorage (kept for the session). */
export function captureCampaign(search: string): void {
  const params = new URLSearchParams(search)
  const campaign: Record<string, string> = {}
  for (const [param, key] of UTM_FIELDS) {
    const v = params.get(param)
    if (v) campaign[key] = v.slice(0, 200)
  }
  if (Object.keys(campaign).length === 0) return
  try {
    sessionStorage.setItem(UTM_KEY, JSON.stringify(campaign))
  } catch {
    /* ignore */
  }
}

function campaign(): Record<string, string> | null {
  try {
    const raw = sessionStorage.getItem(UTM_KEY)
    return raw ? (JSON.parse(raw) as Record<string, string>) : null
  } catch {
    return null
  }
}

// ---------------------------------------------------------------- the tracker

class Tracker {
  private state: State = 'pending'
  private writeKey: string | null = null
  private queue: SegmentEvent[] = []
  private timer: ReturnType<typeof setTimeout> | null = null
  private sending = false
  private failures = 0
  private retryAt = 0
  private userId: string | null = lsGet(USER_ID_KEY)
  private locale = 'zh-CN'
  private lastUrl: string | null = null
  /** The referrer of the current page (the previous SPA URL, or document.referrer on landing). */
  private referrer = ''
  private started = false
  /** Message ids of events being sent right now (not taken again until their answer). */
  private inFlight = new Set<string>()
  private identitySource: IdentitySource | null = null
  /** The user the app said is signed in (a user id restored from localStorage is not proof enough to ask). */
  private signedIn: string | null = null
  /** Identity tokens by user id (in memory only; a user who just logged out may still have events queued). */
  private proofs = new Map<string, { token: string; expiresAt: number }>()
  private proving: Promise<void> | null = null
  private proofFailedAt = 0

  /** Start once: resolve the write key, load the saved queue, listen for the page going away. */
  init(opts: { locale?: string; fetchConfig?: boolean; identity?: IdentitySource } = {}): Promise<void> {
    if (opts.locale) this.locale = opts.locale
    if (opts.identity) this.identitySource = opts.identity
    if (this.started) return Promise.resolve()
    this.started = true
    try {
      captureCampaign(location.search)
    } catch {
      /* ignore */
    }
    this.queue = this.loadQueue()
    if (isOptedOut()) this.clearQueue()
    const onHide = () => this.flushOnHide()
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') onHide()
    })
    window.addEventListener('pagehide', onHide)
    window.addEventListener('online', () => {
      this.retryAt = 0
      this.schedule(0)
    })
    return this.resolveKey(opts.fetchConfig !== false)
  }

  private async resolveKey(fetchConfig: boolean): Promise<void> {
    const override = lsGet(WRITE_KEY_OVERRIDE)
    if (override) {
      this.enable(override)
      return
    }
    if (!fetchConfig) {
      this.disable()
      return
    }
    try {
      const res = await fetch(CONFIG_URL, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      if (!res.ok) {
        this.disable() // 404 until the backend has the endpoint
        return
      }
      const body = (await res.json()) as { write_key?: string; enabled?: boolean }
      if (body && body.enabled !== false && typeof body.write_key === 'string' && body.write_key) this.enable(body.write_key)
      else this.disable()
    } catch {
      this.disable()
    }
  }

  private enable(key: string) {
    this.writeKey = key
    this.state = 'enabled'
    this.schedule(0)
  }

  private disable() {
    this.writeKey = null
    this.state = 'disabled'
    this.clearQueue()
  }

  /** Whether calls are being recorded right now (enabled and not opted out). */
  get active(): boolean {
    return this.state !== 'disabled' && !isOptedOut()
  }

  setLocale(locale: string) {
    this.locale = locale
  }

  /** The logged-in user (null when logged out), without an identify call (e.g. a session restored on load). */
  setUserId(id: string | number | null) {
    this.userId = id === null || id === undefined ? null : String(id)
    lsSet(USER_ID_KEY, this.userId)
    this.signedIn = this.userId
    if (this.userId) void this.prove()
  }

  // ------------------------------------------------------------ identity proof

  /** Fetch (or renew) the signed-in user's identity token; failures leave their events anonymous. */
  private prove(): Promise<void> {
    const user = this.signedIn
    if (!user || !this.identitySource || !this.active) return Promise.resolve()
    const have = this.proofs.get(user)
    if (have && have.expiresAt - Date.now() > PROOF_RENEW_MS) return Promise.resolve()
    if (this.proving) return this.proving
    if (Date.now() - this.proofFailedAt < PROOF_RETRY_MS) return Promise.resolve()
    this.proving = this.identitySource()
      .then((proof) => {
        const expiresAt = Date.parse(proof.expires_at)
        if (proof.user_id === user && proof.token && expiresAt) this.proofs.set(user, { token: proof.token, expiresAt })
      })
      .catch(() => {
        this.proofFailedAt = Date.now()
      })
      .finally(() => {
        this.proving = null
      })
    return this.proving
  }

  /** The events as sent: each signed-in user's event carries that user's identity token. */
  private withProof(batch: SegmentEvent[]): SegmentEvent[] {
    const now = Date.now()
    return batch.map((e) => {
      const proof = e.userId ? this.proofs.get(e.userId) : undefined
      return proof && proof.expiresAt > now ? { ...e, context: { ...e.context, identityToken: proof.token } } : e
    })
  }

  // ------------------------------------------------------------ calls

  page(name: string | null | undefined, properties: Properties = {}) {
    const url = location.href
    const referrer = this.lastUrl ?? document.referrer ?? ''
    this.lastUrl = url
    this.referrer = referrer
    this.enqueue({ type: 'page', name: name || undefined, properties: { ...this.pageContext(referrer), ...properties } }, referrer)
  }

  track(event: string, properties: Properties = {}) {
    this.enqueue({ type: 'track', event, properties })
  }

  /** Link the anonymous id to the account (proven by the identity token). It carries no traits: the server knows
   *  the account, and the browser sends no name, gender, city or any other personal data along. */
  identify(userId: string | number) {
    this.setUserId(userId)
    this.enqueue({ type: 'identify', traits: {} })
  }

  /** Logout: forget the user and start over with a new anonymous id. */
  reset() {
    this.flush() // what was recorded belongs to the old identity
    this.setUserId(null)
    try {
      writeCookie(ANON_COOKIE, uuid())
    } catch {
      /* ignore */
    }
  }

  /** The shopper switched analytics off or on (account page). */
  setOptOut(optOut: boolean) {
    lsSet(OPT_OUT_KEY, optOut ? '1' : '0')
    if (optOut) this.clearQueue()
  }

  /** Order Completed once per order: remembered in localStorage. */
  orderCompletedOnce(orderId: number | string, properties: Properties): boolean {
    if (!this.active) return false
    let sent: string[]
    try {
      sent = JSON.parse(lsGet(SENT_ORDERS_KEY) || '[]') as string[]
    } catch {
      sent = []
    }
    const key = String(orderId)
    if (sent.includes(key)) return false
    sent.push(key)
    lsSet(SENT_ORDERS_KEY, JSON.stringify(sent.slice(-200)))
    this.track('Order Completed', properties)
    return true
  }

  // ------------------------------------------------------------ queue

  private pageContext(referrer: string) {
    return { path: location.pathname, url: location.href, referrer, title: document.title, search: location.search }
  }

  private enqueue(partial: Omit<SegmentEvent, 'messageId' | 'anonymousId' | 'context' | 'originalTimestamp'>, referrer?: string) {
    if (!this.active) return
    let anon: string
    try {
      anon = anonymousId()
    } catch {
      return
    }
    const context: Properties = {
      library: LIBRARY,
      locale: this.locale,
      userAgent: navigator.userAgent,
      page: this.pageContext(referrer ?? (this.lastUrl ? this.referrer : document.referrer || '')),
    }
    const c = campaign()
    if (c) context.campaign = c
    const event: SegmentEvent = {
      ...partial,
      messageId: uuid(),
      anonymousId: anon,
      context,
      originalTimestamp: new Date().toISOString(),
    }
    if (this.userId) event.userId = this.userId
    this.queue.push(event)
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE)
    this.saveQueue()
    this.schedule(this.queue.length >= FLUSH_AT ? 0 : FLUSH_INTERVAL_MS)
  }

  private loadQueue(): SegmentEvent[] {
    try {
      const raw = lsGet(QUEUE_KEY)
      const parsed = raw ? (JSON.parse(raw) as SegmentEvent[]) : []
      return Array.isArray(parsed) ? parsed.slice(-MAX_QUEUE) : []
    } catch {
      return []
    }
  }

  private saveQueue() {
    lsSet(QUEUE_KEY, this.queue.length ? JSON.stringify(this.queue) : null)
  }

  private clearQueue() {
    this.queue = []
    lsSet(QUEUE_KEY, null)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(delay: number) {
    if (this.state !== 'enabled' || !this.queue.length) return
    const wait = Math.max(delay, this.retryAt - Date.now())
    if (this.timer) {
      if (delay > 0) return // a flush is already planned
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, wait)
  }

  /** Take waiting events (not in flight) from the head of the queue up to a byte budget. */
  private take(maxBytes: number): SegmentEvent[] {
    const out: SegmentEvent[] = []
    let size = 64
    for (const e of this.queue) {
      if (this.inFlight.has(e.messageId)) continue
      const n = byteLength(JSON.stringify(e)) + 1 + (e.userId ? TOKEN_BYTES : 0)
      if (out.length && size + n > maxBytes) break
      out.push(e)
      size += n
    }
    return out
  }

  private drop(sent: SegmentEvent[]) {
    const ids = new Set(sent.map((e) => e.messageId))
    this.queue = this.queue.filter((e) => !ids.has(e.messageId))
    this.saveQueue()
  }

  /** Send what is queued now, one batch after another. */
  async flush(): Promise<void> {
    if (this.state !== 'enabled' || !this.writeKey || this.sending || !this.queue.length) return
    if (isOptedOut()) {
      this.clearQueue()
      return
    }
    this.sending = true
    try {
      await this.prove()
      while (this.state === 'enabled') {
        const batch = this.take(MAX_BATCH_BYTES)
        if (!batch.length || !(await this.send(batch))) break
      }
    } finally {
      this.sending = false
    }
    if (this.queue.length) this.schedule(FLUSH_INTERVAL_MS)
  }

  /**
   * POST one batch with keepalive (it outlives the page). True when the collector answered for good: 2xx (any
   * rejected events are reported and not worth retrying), 400/413 (it will never take them), 401 (the key was
   * revoked or rotated: the tracker turns off). Network errors, 429 and 5xx keep the events for a retry.
   */
  private async send(batch: SegmentEvent[]): Promise<boolean> {
    const key = this.writeKey
    if (!key) return false
    for (const e of batch) this.inFlight.add(e.messageId)
    let status: number
    let retryAfterS = 0
    try {
      const res = await fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + btoa(key + ':') },
        body: JSON.stringify({ batch: this.withProof(batch), sentAt: new Date().toISOString() }),
        credentials: 'omit',
        keepalive: true,
      })
      status = res.status
      retryAfterS = Number(res.headers.get('Retry-After')) || 0
    } catch {
      status = 0
    } finally {
      for (const e of batch) this.inFlight.delete(e.messageId)
    }
    if (status === 0 || status === 429 || status >= 500) {
      this.failures += 1
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1))
      this.retryAt = Date.now() + Math.max(backoff * (0.75 + Math.random() * 0.5), retryAfterS * 1000)
      if (!this.sending && this.queue.length) this.schedule(FLUSH_INTERVAL_MS)
      return false
    }
    this.failures = 0
    this.retryAt = 0
    this.drop(batch)
    if (status === 401) {
      this.disable()
      return false
    }
    return true
  }

  /** The page is being hidden or left: send what waits at once, with keepalive (the answer may never be read:
   *  then the events are still in localStorage, and a later visit's resend is de-duplicated). */
  flushOnHide() {
    if (this.state !== 'enabled' || !this.writeKey || !this.queue.length) return
    if (isOptedOut()) {
      this.clearQueue()
      return
    }
    const batch = this.take(MAX_BATCH_BYTES)
    if (batch.length) void this.send(batch)
  }

  /** For tests and debugging. */
  get pending(): number {
    return this.queue.length
  }
}

export const tracker = new Tracker()

// ---------------------------------------------------------------- e-commerce helpers

/** Fen → yuan as a number (Segment prices are in currency units). */
export function yuan(fen: number | null | undefined): number {
  return Math.round(Number(fen || 0)) / 100
}

interface ProductLike {
  id: number
  sku: string
  price_fen: number
  promo_price_fen?: number | null
}

export function productRef(p: ProductLike, quantity?: number): Properties {
  const out: Properties = { product_id: p.id, sku: p.sku, price: yuan(p.promo_price_fen ?? p.price_fen) }
  if (quantity !== undefined) out.quantity = quantity
  return out
}
