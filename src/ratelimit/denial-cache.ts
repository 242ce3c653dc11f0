/**
 * Refusals remembered until they can end (issue 15): a client over its limit keeps being refused
 * without a Redis round trip per request, so a flood costs Redis one call per identity per window
 * and the gateway no more than a map lookup.
 *
 * Why this stays exact: a GCRA refusal holds while some rule's TAT + T·cost − burst·T is ahead of
 * now, and between resets a TAT only moves forward (every admission anywhere adds to it; a refusal
 * leaves it). So a refusal Redis gave at time t, for a rule blocking until t + d, holds for the
 * same request (same identity, rules, cost and penalty) until t + d on every instance. The entry
 * is timed from when the call was *sent*, which is no later than Redis's now, so it never outlives
 * the refusal; it is measured on a monotonic clock, so a wall-clock step cannot stretch it.
 * The one event that moves a TAT backwards is a reset: an admin clearing an identity (forgotten
 * here at once; another instance's entries end within RATE_LIMIT_DENIAL_CACHE_MS, the bound on
 * every entry) or Redis losing its state (the limiter forgets every entry when Redis comes back).
 * Only refusals are cached: every admission is still Redis's decision.
 *
 * Hand-written: no library keeps GCRA-aware refusals; a TTL cache (lru-cache) would still need the
 * per-rule times below, and the map is bounded here by insertion order.
 */
import { intervalUs, toleranceUs, type RuleCheck } from './gcra.js'

interface Entry {
  /** Monotonic µs until which the refusal certainly holds. */
  untilUs: number
  /** Each rule's TAT on the same clock, so a repeat answers the headers Redis's reply would give. */
  tats: number[]
}

export class DenialCache {
  private readonly entries = new Map<string, Entry>()

  constructor(
    /** Longest an entry lives (RATE_LIMIT_DENIAL_CACHE_MS; 0 turns the cache off). */
    private readonly maxMs: number,
    private readonly maxEntries = 10_000
  ) {}

  get size(): number {
    return this.entries.size
  }

  /** One request class: identity, rules, cost and penalty decide whether a refusal repeats. */
  private static signature(identity: string, checks: RuleCheck[]): string {
    let s = identity + '\u0000'
    for (const c of checks) s += `${c.rule.name}:${c.cost}:${c.penalty ?? 1};`
    return s
  }

  /**
   * The refusal still in force for this request class at `nowUs`, as the GCRA script would report
   * it (each rule's TAT relative to now); undefined when there is none.
   */
  lookup(identity: string, checks: RuleCheck[], nowUs: number): number[] | undefined {
    if (this.entries.size === 0) return undefined // the usual case: no string to build
    const sig = DenialCache.signature(identity, checks)
    const e = this.entries.get(sig)
    if (e === undefined) return undefined
    if (nowUs >= e.untilUs) {
      this.entries.delete(sig)
      return undefined
    }
    return e.tats.map((tat) => Math.max(0, tat - nowUs))
  }

  /**
   * Records Redis's refusal of a request sent at `sentUs`: `rel[i]` is rule i's TAT relative to
   * Redis's now, as the GCRA script returns it.
   */
  remember(identity: string, checks: RuleCheck[], rel: number[], sentUs: number): void {
    if (this.maxMs <= 0) return
    let holdsUs = 0
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]
      holdsUs = Math.max(holdsUs, rel[i] + intervalUs(c.rule, c.penalty) * c.cost - toleranceUs(c.rule))
    }
    if (holdsUs <= 0) return
    const sig = DenialCache.signature(identity, checks)
    if (this.entries.size >= this.maxEntries) this.evict(sentUs)
    this.entries.delete(sig) // re-inserted last: eviction order is insertion order
    this.entries.set(sig, {
      untilUs: sentUs + Math.min(holdsUs, this.maxMs * 1000),
      tats: checks.map((_c, i) => sentUs + rel[i])
    })
  }

  /** Forgets an identity's refusals (its limiter state was cleared). */
  forget(identity: string): void {
    const prefix = identity + '\u0000'
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k)
  }

  clear(): void {
    this.entries.clear()
  }

  /** Drops expired entries; when none had expired, the oldest one. */
  private evict(nowUs: number): void {
    for (const [k, e] of this.entries) if (nowUs >= e.untilUs) this.entries.delete(k)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }
}
