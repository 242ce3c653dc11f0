/**
 * Per-user bounds on the idempotency store (issue 12 finding 5: each new Idempotency-Key stored up
 * to 1 MiB for 24 h with no cap, in the Redis that also holds security state). Records and stored
 * bytes are counted per user in 4-hour buckets that live as long as a record can (24 h + one
 * bucket); the sum of the buckets is an upper bound of what the user has live, so the bound holds
 * across instances with plain counters (INCR, no scan). Over a bound a new key is refused with
 * 429/3001 and Retry-After until the oldest bucket stops counting; replays of existing keys are
 * never refused. The store's size is exported as gauges (idempotency_store_records/_bytes).
 */
import client from 'prom-client'
import { LucidError } from '../errors.js'
import type { StateStore } from './state-store.js'
import type { ClaimResult, StoredResponse } from '../proxy/idempotency.js'
import { IDEMPOTENCY_TTL_MS } from '../proxy/idempotency.js'

const BUCKET_MS = 4 * 3_600_000
/** Buckets a live record can be in: the 24 h of its life, plus the current partial bucket. */
const BUCKETS = Math.ceil(IDEMPOTENCY_TTL_MS / BUCKET_MS) + 1
const ALL = '_all'

export interface IdempotencyLimits {
  /** New records per user within a record's lifetime (IDEMPOTENCY_MAX_RECORDS_PER_USER). */
  maxRecords: number
  /** Stored response bytes per user within a record's lifetime (IDEMPOTENCY_MAX_BYTES_PER_USER). */
  maxBytes: number
}

export interface IdempotencyStore {
  claim(scope: string, key: string, fp: string): Promise<ClaimResult>
  complete(scope: string, key: string, fp: string, response: StoredResponse): Promise<void>
  release(scope: string, key: string): Promise<void>
}

/** Bytes a completed record takes in the store (its JSON), near enough to bound memory. */
export const storedSize = (r: StoredResponse): number => r.body_b64.length + JSON.stringify(r.headers).length + 96

/**
 * Wraps the idempotency store. `scope` is `<user id>:<upstream>` (routes/proxy): the quota owner
 * is the user, across upstreams.
 */
export function boundIdempotencyStore(
  inner: IdempotencyStore,
  store: StateStore,
  limits: IdempotencyLimits,
  opts: { now: () => number; registry?: client.Registry }
): IdempotencyStore {
  const bucketOf = () => Math.floor(opts.now() / BUCKET_MS)
  const key = (owner: string, kind: 'r' | 'b', bucket: number) => `idem-quota:${owner}:${kind}:${bucket}`
  const ttl = BUCKETS * BUCKET_MS
  const ownerOf = (scope: string) => scope.slice(0, scope.indexOf(':') < 0 ? undefined : scope.indexOf(':'))

  /** Per bucket, newest first: [bucket, count]. */
  async function buckets(owner: string, kind: 'r' | 'b'): Promise<[number, number][]> {
    const now = bucketOf()
    const ids = Array.from({ length: BUCKETS }, (_, i) => now - i)
    const values = await Promise.all(ids.map((b) => store.get(key(owner, kind, b))))
    return ids.map((b, i) => [b, Number(values[i] ?? 0)])
  }
  const sum = (bs: [number, number][]) => bs.reduce((a, [, n]) => a + Math.max(0, n), 0)
  function retryAfterS(bs: [number, number][]): number {
    const oldest = [...bs].reverse().find(([, n]) => n > 0)?.[0] ?? bucketOf()
    return Math.max(1, Math.ceil(((oldest + BUCKETS) * BUCKET_MS - opts.now()) / 1000))
  }
  const refuse = (what: 'records' | 'bytes', max: number, bs: [number, number][]) => {
    const unit = what === 'records' ? 'Idempotency-Key records' : 'stored response bytes'
    const message = `Idempotency store quota exceeded: at most ${max} ${unit} per user within 24 h`
    return new LucidError('RATE_LIMITED', message, {
      details: { limit: `idempotency_${what}`, max },
      headers: { 'retry-after': String(retryAfterS(bs)) }
    })
  }

  async function reserve(owner: string): Promise<void> {
    const current = key(owner, 'r', bucketOf())
    await store.incr(current, 1, ttl)
    const [records, bytes] = await Promise.all([buckets(owner, 'r'), buckets(owner, 'b')])
    const over =
      sum(records) > limits.maxRecords
        ? refuse('records', limits.maxRecords, records)
        : sum(bytes) >= limits.maxBytes
          ? refuse('bytes', limits.maxBytes, bytes)
          : null
    if (over !== null) {
      await store.incr(current, -1, ttl)
      throw over
    }
    await store.incr(key(ALL, 'r', bucketOf()), 1, ttl)
  }
  async function unreserve(owner: string): Promise<void> {
    await store.incr(key(owner, 'r', bucketOf()), -1, ttl)
    await store.incr(key(ALL, 'r', bucketOf()), -1, ttl)
  }

  if (opts.registry !== undefined) {
    // Upper bounds of what is live in the store, all users and instances together.
    const gauge = (name: string, help: string, kind: 'r' | 'b') =>
      new client.Gauge({
        name,
        help,
        registers: [opts.registry!],
        async collect() {
          const total = await buckets(ALL, kind).then(sum, () => null)
          if (total !== null) this.set(total)
        }
      })
    const bound = 'within their 24 h lifetime (an upper bound of those live)'
    gauge('idempotency_store_records', `Idempotency-Key records stored ${bound}`, 'r')
    gauge('idempotency_store_bytes', `Bytes of replayable responses stored ${bound}`, 'b')
  }

  return {
    async claim(scope, k, fp) {
      const res = await inner.claim(scope, k, fp)
      if (res.kind !== 'claimed') return res
      try {
        await reserve(ownerOf(scope))
      } catch (err) {
        await inner.release(scope, k).catch(() => undefined)
        throw err
      }
      return res
    },
    async complete(scope, k, fp, response) {
      await inner.complete(scope, k, fp, response)
      // The response is stored even past the byte bound (the upstream already acted on the
      // request); the bound then refuses the next new key. Overshoot: one response, ≤ 1 MiB.
      const size = storedSize(response)
      await store.incr(key(ownerOf(scope), 'b', bucketOf()), size, ttl)
      await store.incr(key(ALL, 'b', bucketOf()), size, ttl)
    },
    async release(scope, k) {
      await inner.release(scope, k)
      await unreserve(ownerOf(scope))
    }
  }
}
