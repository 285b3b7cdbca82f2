// The storefront tracker: keepalive batches that outlive a navigation, a flush when the page is hidden, the
// signed-in user's identity token added when sending (never kept in the queue), Retry-After on 429.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { IdentityProof } from '@/tracking/tracker'

type Sent = { url: string; init: RequestInit; body: { batch: Record<string, unknown>[] } }

let sent: Sent[]
let answer: () => Response

function fakeFetch(url: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  if (String(url).endsWith('/api/v1/tracking/config')) {
    return Promise.resolve(new Response(JSON.stringify({ write_key: 'mr_public', enabled: true })))
  }
  sent.push({ url: String(url), init, body: JSON.parse(String(init.body)) })
  return Promise.resolve(answer())
}

/** A fresh tracker module (it is a singleton), started with an identity source. */
async function startTracker(identity?: () => Promise<IdentityProof>) {
  vi.resetModules()
  const { tracker, QUEUE_KEY } = await import('@/tracking/tracker')
  await tracker.init({ identity })
  return { tracker, QUEUE_KEY }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

beforeEach(() => {
  sent = []
  answer = () => new Response('{"success":true}', { status: 200 })
  vi.stubGlobal('fetch', vi.fn(fakeFetch))
})

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('tracker', () => {
  it('sends every batch with keepalive, and at once when the page is hidden', async () => {
    const { tracker } = await startTracker()
    tracker.track('Product Added', { sku: 'MR1' })
    expect(sent).toHaveLength(0) // batched: the 2 s timer has not fired
    window.dispatchEvent(new Event('pagehide'))
    await settle()
    expect(sent).toHaveLength(1)
    expect(sent[0].url).toBe('/v1/batch')
    expect(sent[0].init.keepalive).toBe(true)
    expect((sent[0].init.headers as Record<string, string>).Authorization).toBe('Basic ' + btoa('mr_public:'))
    expect(sent[0].body.batch.map((e) => e.event)).toEqual(['Product Added'])
    expect(tracker.pending).toBe(0) // answered: out of the queue
  })

  it('keeps what the collector has not answered for, and does not send an event twice at once', async () => {
    let release: (r: Response) => void = () => {}
    answer = () => new Response(null, { status: 200 })
    const { tracker, QUEUE_KEY } = await startTracker()
    vi.mocked(fetch).mockImplementationOnce(
      (url, init) => new Promise((resolve) => {
        sent.push({ url: String(url), init: init ?? {}, body: JSON.parse(String(init?.body)) })
        release = resolve
      }),
    )
    tracker.track('Product Viewed')
    window.dispatchEvent(new Event('pagehide'))
    window.dispatchEvent(new Event('pagehide')) // in flight: not taken again
    await settle()
    expect(sent).toHaveLength(1)
    expect(JSON.parse(localStorage.getItem(QUEUE_KEY) ?? '[]')).toHaveLength(1) // the page may go: kept
    release(new Response(null, { status: 200 }))
    await settle()
    expect(localStorage.getItem(QUEUE_KEY)).toBeNull()
  })

  it("adds the signed-in user's identity token when sending, never to the queue", async () => {
    const expires = new Date(Date.now() + 3600_000).toISOString()
    const identity = vi.fn(async () => ({ user_id: '42', token: 'v1.42.x.sig', expires_at: expires }))
    const { tracker, QUEUE_KEY } = await startTracker(identity)
    tracker.page('home') // before login: anonymous
    tracker.identify(42)
    tracker.track('Product Viewed')
    const queued = JSON.parse(localStorage.getItem(QUEUE_KEY) ?? '[]') as Record<string, Record<string, unknown>>[]
    expect(queued.every((e) => !('identityToken' in e.context))).toBe(true)
    await tracker.flush()
    expect(identity).toHaveBeenCalledTimes(1)
    const batch = sent[0].body.batch as { type: string; userId?: string; context: Record<string, unknown> }[]
    expect(batch.map((e) => [e.type, e.userId ?? null, e.context.identityToken ?? null])).toEqual([
      ['page', null, null],
      ['identify', '42', 'v1.42.x.sig'],
      ['track', '42', 'v1.42.x.sig'],
    ])
    const identify = (sent[0].body.batch as { type: string; traits?: Record<string, unknown> }[])[1]
    expect(identify.traits).toEqual({}) // the server knows the account: no name, gender or city from the browser
  })

  it('sends events without a token when the server gives none (the collector keeps them anonymous)', async () => {
    const identity = vi.fn(async () => {
      throw new Error('401')
    })
    const { tracker } = await startTracker(identity)
    tracker.identify(7)
    await tracker.flush()
    const [event] = sent[0].body.batch as { userId: string; context: Record<string, unknown> }[]
    expect(event.userId).toBe('7')
    expect(event.context.identityToken).toBeUndefined()
  })

  it('waits at least Retry-After after a 429', async () => {
    answer = () => new Response(null, { status: 429, headers: { 'Retry-After': '30' } })
    const { tracker } = await startTracker()
    tracker.track('Spam')
    const before = Date.now()
    await tracker.flush()
    expect(tracker.pending).toBe(1)
    const retryAt = (tracker as unknown as { retryAt: number }).retryAt
    expect(retryAt - before).toBeGreaterThanOrEqual(30_000)
  })
})
