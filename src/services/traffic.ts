/**
 * Short in-memory traffic history for the operator dashboard (issue 18): requests, latency
 * percentiles, errors by envelope code, per route and per upstream, in fixed time buckets held in a
 * ring. O(1) per request and bounded in memory; per process (each instance keeps its own), so the
 * API says `scope: "instance"`. Percentiles come from a log-spaced histogram (±7.5 %), which is
 * exact enough to read a dashboard and never grows with traffic. No Fastify import.
 */

/** One finished request as the recorder needs it. */
export interface TrafficSample {
  method: string
  /** Route template ("/api/v1/users/:user_id"), never the raw URL: keeps the key space bounded. */
  route: string
  status: number
  /** Time to respond, ms. */
  ms: number
  /** Envelope code (LUCID_ERR_*) when the request failed. */
  code?: string
  /** The limiter identity ("user:…", "ip:…") when the request was refused with 429. */
  limitedIdentity?: string
}

export interface TrafficOptions {
  /** Width of one bucket, ms (default 5 000). */
  bucketMs?: number
  /** Buckets kept (default 180: 15 minutes of 5 s). */
  buckets?: number
  now?: () => number
}

interface RouteStats {
  requests: number
  errors: number
  sumMs: number
  maxMs: number
}

interface Bucket {
  index: number
  requests: number
  serverErrors: number
  clientErrors: number
  hist: Uint32Array
  codes: Map<string, number>
  routes: Map<string, RouteStats>
  upstreams: Map<string, Map<string, number>>
  limited: Map<string, number>
}

const BIN_BASE_MS = 0.05
const BIN_GROWTH = 1.15
const BINS = 110
const LOG_GROWTH = Math.log(BIN_GROWTH)
/** Per bucket, so a flood from many addresses cannot grow the map without bound. */
const MAX_LIMITED_PER_BUCKET = 500
const MAX_ROUTES_PER_BUCKET = 500

function binOf(ms: number): number {
  if (ms <= BIN_BASE_MS) return 0
  return Math.min(BINS - 1, Math.floor(Math.log(ms / BIN_BASE_MS) / LOG_GROWTH) + 1)
}

/** Upper edge of a bin, ms: a percentile is reported as the bound it is known to be under. */
const binUpperMs = (bin: number) => BIN_BASE_MS * BIN_GROWTH ** bin

function percentile(hist: Uint32Array, total: number, p: number): number {
  if (total === 0) return 0
  const rank = Math.ceil((p / 100) * total)
  let seen = 0
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]
    if (seen >= rank) return Math.round(binUpperMs(i) * 100) / 100
  }
  return Math.round(binUpperMs(hist.length - 1) * 100) / 100
}

const bump = <K>(m: Map<K, number>, k: K, n = 1) => m.set(k, (m.get(k) ?? 0) + n)

export interface TrafficPoint {
  /** Bucket start, ms since epoch. */
  t: number
  requests_per_second: number
  errors_per_second: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
}

export interface TrafficReport {
  bucket_s: number
  window_s: number
  points: TrafficPoint[]
  totals: {
    requests: number
    requests_per_second: number
    server_errors: number
    client_errors: number
    p50_ms: number
    p95_ms: number
    p99_ms: number
  }
  errors_by_code: { code: string; count: number }[]
  routes: { route: string; requests: number; errors: number; avg_ms: number; max_ms: number }[]
  upstreams: { upstream: string; requests: number; outcomes: Record<string, number> }[]
  limited: { identity: string; refused: number }[]
}

export interface TrafficRecorder {
  record(sample: TrafficSample): void
  /** Adds upstream outcomes (the caller diffs the upstream_requests_total counter). */
  recordUpstream(upstream: string, outcome: string, count: number): void
  /** The last `windowS` seconds (at most what the ring holds), oldest point first. */
  report(windowS: number, topRoutes?: number): TrafficReport
  /** Seconds of history the ring can hold. */
  readonly capacityS: number
}

export function createTrafficRecorder(opts: TrafficOptions = {}): TrafficRecorder {
  const bucketMs = opts.bucketMs ?? 5_000
  const size = opts.buckets ?? 180
  const now = opts.now ?? Date.now
  const ring: (Bucket | undefined)[] = new Array(size)

  const fresh = (index: number): Bucket => ({
    index,
    requests: 0,
    serverErrors: 0,
    clientErrors: 0,
    hist: new Uint32Array(BINS),
    codes: new Map(),
    routes: new Map(),
    upstreams: new Map(),
    limited: new Map()
  })
  function current(): Bucket {
    const index = Math.floor(now() / bucketMs)
    const slot = index % size
    let b = ring[slot]
    if (b === undefined || b.index !== index) ring[slot] = b = fresh(index)
    return b
  }

  return {
    capacityS: (size * bucketMs) / 1000,
    record(s) {
      const b = current()
      b.requests++
      if (s.status >= 500) b.serverErrors++
      else if (s.status >= 400) b.clientErrors++
      b.hist[binOf(s.ms)]++
      if (s.code !== undefined) bump(b.codes, s.code)
      const key = `${s.method} ${s.route}`
      let r = b.routes.get(key)
      if (r === undefined && b.routes.size < MAX_ROUTES_PER_BUCKET) {
        r = { requests: 0, errors: 0, sumMs: 0, maxMs: 0 }
        b.routes.set(key, r)
      }
      if (r !== undefined) {
        r.requests++
        if (s.status >= 500) r.errors++
        r.sumMs += s.ms
        if (s.ms > r.maxMs) r.maxMs = s.ms
      }
      const who = s.limitedIdentity
      if (who !== undefined && (b.limited.has(who) || b.limited.size < MAX_LIMITED_PER_BUCKET)) bump(b.limited, who)
    },
    recordUpstream(upstream, outcome, count) {
      if (count <= 0) return
      const b = current()
      let m = b.upstreams.get(upstream)
      if (m === undefined) b.upstreams.set(upstream, (m = new Map()))
      bump(m, outcome, count)
    },
    report(windowS, topRoutes = 20) {
      const n = Math.max(1, Math.min(size, Math.ceil((windowS * 1000) / bucketMs)))
      const last = Math.floor(now() / bucketMs)
      const points: TrafficPoint[] = []
      const hist = new Uint32Array(BINS)
      const codes = new Map<string, number>()
      const routes = new Map<string, RouteStats>()
      const upstreams = new Map<string, Map<string, number>>()
      const limited = new Map<string, number>()
      let requests = 0
      let serverErrors = 0
      let clientErrors = 0
      const perS = (x: number) => Math.round((x / (bucketMs / 1000)) * 100) / 100
      for (let index = last - n + 1; index <= last; index++) {
        const b = ring[index % size]
        const live = b !== undefined && b.index === index ? b : undefined
        const count = live?.requests ?? 0
        points.push({
          t: index * bucketMs,
          requests_per_second: perS(count),
          errors_per_second: perS(live?.serverErrors ?? 0),
          p50_ms: live === undefined ? 0 : percentile(live.hist, count, 50),
          p95_ms: live === undefined ? 0 : percentile(live.hist, count, 95),
          p99_ms: live === undefined ? 0 : percentile(live.hist, count, 99)
        })
        if (live === undefined) continue
        requests += live.requests
        serverErrors += live.serverErrors
        clientErrors += live.clientErrors
        for (let i = 0; i < BINS; i++) hist[i] += live.hist[i]
        for (const [k, v] of live.codes) bump(codes, k, v)
        for (const [k, v] of live.limited) bump(limited, k, v)
        for (const [k, v] of live.routes) {
          const r = routes.get(k) ?? { requests: 0, errors: 0, sumMs: 0, maxMs: 0 }
          r.requests += v.requests
          r.errors += v.errors
          r.sumMs += v.sumMs
          r.maxMs = Math.max(r.maxMs, v.maxMs)
          routes.set(k, r)
        }
        for (const [u, outcomes] of live.upstreams) {
          const m = upstreams.get(u) ?? new Map<string, number>()
          for (const [o, c] of outcomes) bump(m, o, c)
          upstreams.set(u, m)
        }
      }
      const round = (x: number) => Math.round(x * 100) / 100
      return {
        bucket_s: bucketMs / 1000,
        window_s: (n * bucketMs) / 1000,
        points,
        totals: {
          requests,
          requests_per_second: round(requests / ((n * bucketMs) / 1000)),
          server_errors: serverErrors,
          client_errors: clientErrors,
          p50_ms: percentile(hist, requests, 50),
          p95_ms: percentile(hist, requests, 95),
          p99_ms: percentile(hist, requests, 99)
        },
        errors_by_code: [...codes].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count),
        routes: [...routes]
          .map(([route, r]) => ({
            route,
            requests: r.requests,
            errors: r.errors,
            avg_ms: round(r.sumMs / r.requests),
            max_ms: round(r.maxMs)
          }))
          .sort((a, b) => b.requests - a.requests)
          .slice(0, topRoutes),
        upstreams: [...upstreams].map(([upstream, m]) => ({
          upstream,
          requests: [...m.values()].reduce((a, b) => a + b, 0),
          outcomes: Object.fromEntries(m)
        })),
        limited: [...limited]
          .map(([identity, refused]) => ({ identity, refused }))
          .sort((a, b) => b.refused - a.refused)
          .slice(0, 50)
      }
    }
  }
}
