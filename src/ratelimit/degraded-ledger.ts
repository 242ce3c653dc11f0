/**
 * What an instance admitted on its own while Redis was away, so that leaving degraded mode does
 * not hand out a fresh budget (issue 14). For every key decided locally the ledger keeps the TAT
 * Redis last reported (the seed) and the debt, in Redis units (emission interval × cost), that
 * Redis has not seen. On recovery each instance adds its debt to the key in Redis and restores the
 * seed by `max`, which also rebuilds the state of a Redis that was restarted empty.
 *
 * A call abandoned as overdue may still have run in Redis; its late reply subtracts that cost again
 * (`add(key, -cost)`), so a timed-out decision is never counted twice.
 */
import type { Cluster, Redis } from 'ioredis'
import type { RuleCheck } from './gcra.js'
import { luaNow } from './redis-gcra.js'

interface Entry {
  /** Local-clock µs TAT that Redis last reported for the key (0 when unknown). */
  seedTat: number
  /** µs of debt in Redis units that Redis does not know about (negative: a refund). */
  debtUs: number
  /** The degraded share's divisor (live instances) the key was decided with. */
  divisor: number
}

/** One merge per key: restore the seed by max, then add this instance's debt. */
export const MERGE_LUA = `
${luaNow(3)}
local tat = now
local v = redis.call('GET', KEYS[1])
if v then tat = math.max(tonumber(v), now) end
tat = math.max(tat, now + tonumber(ARGV[1])) + tonumber(ARGV[2])
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return 1`

type MergeRedis = (Redis | Cluster) & {
  lucidGcraMerge(key: string, seedUs: number, debtUs: number, nowUs: number): Promise<number>
}

export class DegradedLedger {
  private entries = new Map<string, Entry>()

  get size(): number {
    return this.entries.size
  }

  /** Registers a key before its first local decision, with what Redis last said about it. */
  touch(key: string, seedTat: number | null, divisor: number): void {
    if (!this.entries.has(key)) this.entries.set(key, { seedTat: seedTat ?? 0, debtUs: 0, divisor })
  }

  add(key: string, us: number): void {
    const e = this.entries.get(key)
    if (e !== undefined) e.debtUs += us
    else this.entries.set(key, { seedTat: 0, debtUs: us, divisor: 1 })
  }

  /**
   * Pushes every entry to Redis (pipelined) and forgets it. `localTat` caps a debt at what the
   * local share still holds, so admissions that have since refilled are not charged again.
   * `mirror` (key → TAT) adds keys not decided locally, for a Redis that lost its state.
   */
  async merge(
    redis: Redis | Cluster,
    o: { nowUs: number; serverTime: boolean; localTat(key: string): number | null; mirror?: Iterable<[string, number]> }
  ): Promise<number> {
    const batch = this.entries
    this.entries = new Map()
    const calls: [string, number, number][] = []
    for (const [key, e] of batch) {
      const tat = o.localTat(key)
      const held = tat === null ? Number.POSITIVE_INFINITY : Math.max(0, tat - o.nowUs) / e.divisor
      const debt = e.debtUs > 0 ? Math.min(e.debtUs, held) : e.debtUs
      const seed = Math.max(0, e.seedTat - o.nowUs)
      if (seed > 0 || debt !== 0) calls.push([key, seed, debt])
    }
    for (const [key, tat] of o.mirror ?? []) {
      if (!batch.has(key) && tat > o.nowUs) calls.push([key, tat - o.nowUs, 0])
    }
    const r = redis as MergeRedis
    try {
      await Promise.all(
        calls.map(([key, seed, debt]) =>
          r.lucidGcraMerge(key, Math.round(seed), Math.round(debt), o.serverTime ? 0 : Math.round(o.nowUs))
        )
      )
    } catch (err) {
      // Not merged: keep the entries for the next attempt (debts add up, seeds are restored by max).
      for (const [key, e] of batch) {
        this.touch(key, e.seedTat, e.divisor)
        this.add(key, e.debtUs)
      }
      throw err
    }
    return calls.length
  }
}

export function defineMerge(redis: Redis | Cluster): void {
  redis.defineCommand('lucidGcraMerge', { numberOfKeys: 1, lua: MERGE_LUA })
}

/** Each instance's share while degraded: limit and burst ÷ live instances (at least 1). */
export function shareOf(checks: RuleCheck[], instances: number): RuleCheck[] {
  if (instances <= 1) return checks
  return checks.map((c) => ({
    ...c,
    rule: {
      ...c.rule,
      limit: Math.max(1, Math.floor(c.rule.limit / instances)),
      burst: Math.max(1, Math.floor(c.rule.burst / instances))
    }
  }))
}
