/**
 * GCRA (generic cell rate algorithm), the algorithm of Redis-Cell and of Envoy's and Stripe's
 * limiters: each key stores one number, the theoretical arrival time (TAT). A request of cost c is
 * admitted when TAT + c·T − now ≤ burst·T, T = period/limit. No fixed windows, so no double burst
 * at a window edge; a client may send `burst` requests at once, then one every T.
 * Times are in microseconds. No Fastify import; the Redis Lua script mirrors `decide` exactly.
 */

export interface RuleSpec {
  /** Policy name shown in RateLimit-Policy (tier or rule name). */
  name: string
  /** Requests (or cost units) per period. */
  limit: number
  periodMs: number
  /** Requests that may arrive at once; defaults to limit. */
  burst: number
}

export interface RuleCheck {
  rule: RuleSpec
  key: string
  /** Cost of this request (1 for a request, bytes or KiB for bandwidth). */
  cost: number
  /** Multiplier on the emission interval: 2 halves the limit (escalation). */
  penalty?: number
}

export interface RuleOutcome {
  rule: RuleSpec
  key: string
  allowed: boolean
  /** Requests still admissible right now after this one. */
  remaining: number
  /** Seconds until the bucket is full again. */
  resetS: number
  /** Milliseconds until a request of this cost would be admitted (0 when admitted). */
  retryAfterMs: number
}

export const intervalUs = (r: RuleSpec, penalty = 1) => (r.periodMs * 1000 * penalty) / r.limit
export const toleranceUs = (r: RuleSpec) => r.burst * ((r.periodMs * 1000) / r.limit)

/** Outcome of one rule given its stored TAT (µs; null when absent) and whether all rules passed. */
export function outcome(
  check: RuleCheck,
  tat: number | null,
  nowUs: number
): { allowed: boolean; newTat: number; out: Omit<RuleOutcome, 'allowed'> } {
  const T = intervalUs(check.rule, check.penalty)
  // Halving limit and burst doubles T and keeps burst·T: the tolerance is unchanged.
  const bt = toleranceUs(check.rule)
  const base = Math.max(tat ?? nowUs, nowUs)
  const newTat = base + T * check.cost
  const allowAt = newTat - bt
  const allowed = nowUs >= allowAt
  const after = allowed ? newTat : base
  const remaining = Math.max(0, Math.floor((bt - (after - nowUs)) / T))
  return {
    allowed,
    newTat,
    out: {
      rule: check.rule,
      key: check.key,
      remaining,
      resetS: Math.max(0, Math.ceil((after - nowUs) / 1_000_000)),
      retryAfterMs: allowed ? 0 : Math.ceil((allowAt - nowUs) / 1000)
    }
  }
}

/** In-process GCRA store: standalone mode, and each instance's local share while Redis is out. */
export class MemoryGcra {
  private readonly tats = new Map<string, number>()
  private sweepAt = 0

  /** All-or-nothing: the request is admitted only when every rule admits it. */
  decide(checks: RuleCheck[], nowUs: number): RuleOutcome[] {
    this.sweep(nowUs)
    const results = checks.map((c) => outcome(c, this.tats.get(c.key) ?? null, nowUs))
    const all = results.every((r) => r.allowed)
    if (all) results.forEach((r, i) => this.tats.set(checks[i].key, r.newTat))
    return results.map((r) => ({ ...r.out, allowed: all }))
  }

  /** Traffic shaping: always admits, returns how long to wait (ms) to stay within the rate. */
  shape(check: RuleCheck, nowUs: number): number {
    const r = outcome(check, this.tats.get(check.key) ?? null, nowUs)
    this.tats.set(check.key, r.newTat)
    return Math.max(0, (r.newTat - toleranceUs(check.rule) - nowUs) / 1000)
  }

  /** The key's TAT (µs), or null. */
  peek(key: string): number | null {
    return this.tats.get(key) ?? null
  }

  /** Records a TAT learnt elsewhere (the Redis mirror, a degraded share's starting point). */
  set(key: string, tat: number, nowUs: number): void {
    this.sweep(nowUs)
    this.tats.set(key, tat)
  }

  keys(): IterableIterator<string> {
    return this.tats.keys()
  }

  entries(): IterableIterator<[string, number]> {
    return this.tats.entries()
  }

  /** Forgets every key. */
  reset(): void {
    this.tats.clear()
  }

  clear(prefix: string): number {
    let n = 0
    for (const k of this.tats.keys()) if (k.startsWith(prefix)) n += Number(this.tats.delete(k))
    return n
  }

  private sweep(nowUs: number): void {
    if (nowUs < this.sweepAt) return
    this.sweepAt = nowUs + 30_000_000
    for (const [k, tat] of this.tats) if (tat < nowUs) this.tats.delete(k)
  }
}
