/**
 * The limiter behind the rate-limit plugin: GCRA in Redis (one Lua call per identity per
 * decision, keys hash-tagged by identity so a call stays in one Cluster slot) or in memory.
 *
 * Redis slow or down (issue 4): every call has a client-side deadline. On a miss or an error the
 * instance switches to `RATE_LIMIT_FAILURE_MODE`: `degrade` enforces limit ÷ live instances locally
 * (instances learnt from heartbeats in Redis), `open` admits, `closed` refuses. While degraded,
 * Redis is probed at most every PROBE_MS; the switch and the recovery are logged and reported.
 */
import { randomUUID } from 'node:crypto'
import type { Redis, Cluster } from 'ioredis'
import { MemoryGcra, intervalUs, outcome, toleranceUs, type RuleCheck, type RuleOutcome } from './gcra.js'

export type LimiterMode = 'redis' | 'memory' | 'degraded'
export type FailureMode = 'degrade' | 'open' | 'closed'

export interface Decision {
  outcomes: RuleOutcome[]
  allowed: boolean
  mode: LimiterMode
  /** Set when the failure mode decided instead of the limiter ('open' or 'closed'). */
  bypass?: 'open' | 'closed'
}

export interface LimiterOptions {
  redis?: Redis | Cluster
  prefix: string
  deadlineMs: number
  failureMode: FailureMode
  /** Overrides the heartbeat-learnt instance count. */
  instanceCount?: number
  /** Microsecond clock; undefined means Redis server time (exact across instances). */
  nowUs?: () => number
  log: { warn(o: object, m: string): void; info(o: object, m: string): void }
  onModeChange?: (mode: LimiterMode) => void
}

const PROBE_MS = 500
const HEARTBEAT_MS = 5_000
const INSTANCE_TTL_MS = 20_000

// Mirrors gcra.ts `outcome` for every key; writes only when every rule admits (all-or-nothing).
// Returns, per key, the stored TAT minus now (µs), then the overall verdict.
const GCRA_LUA = `
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local mode = ARGV[2]
local n = #KEYS
local rel, newtat, all = {}, {}, 1
for i = 1, n do
  local T = tonumber(ARGV[3 + (i - 1) * 3])
  local bt = tonumber(ARGV[4 + (i - 1) * 3])
  local cost = tonumber(ARGV[5 + (i - 1) * 3])
  local v = redis.call('GET', KEYS[i])
  local tat = now
  if v then
    tat = tonumber(v)
    if tat < now then tat = now end
  end
  rel[i] = tat - now
  newtat[i] = tat + T * cost
  if mode == 'decide' and now < newtat[i] - bt then all = 0 end
end
if all == 1 then
  for i = 1, n do
    redis.call('SET', KEYS[i], string.format('%.0f', newtat[i]), 'PX', math.ceil((newtat[i] - now) / 1000) + 1000)
  end
end
rel[n + 1] = all
return rel`

type GcraRedis = (Redis | Cluster) & { lucidGcra(numKeys: number, ...args: (string | number)[]): Promise<number[]> }

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limiter deadline of ${ms} ms missed`)), ms)
    })
  ])
}

export interface Limiter {
  /** Decides one request against rules that all share one identity. */
  decide(identity: string, checks: RuleCheck[]): Promise<Decision>
  /** Bandwidth shaping: ms to wait before accepting `check.cost` more units (never refuses). */
  shape(identity: string, check: RuleCheck): Promise<number>
  /** How far ahead of now (ms) the identity's key for `rule` is: debt for bandwidth pre-checks. */
  debtMs(identity: string, ruleName: string): Promise<number>
  /** Limiter state of an identity (admin API). */
  inspect(identity: string, ruleNames: string[]): Promise<{ rule: string; tat_ahead_ms: number }[]>
  clear(identity: string, ruleNames: string[]): Promise<number>
  /** Identities with limiter state (admin API), at most `max`, from memory and Redis (SCAN). */
  identities(max: number): Promise<string[]>
  readonly mode: LimiterMode
  instances(): number
  start(): void
  stop(): Promise<void>
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const local = new MemoryGcra()
  const redis = opts.redis as GcraRedis | undefined
  const instanceId = randomUUID()
  let mode: LimiterMode = redis === undefined ? 'memory' : 'redis'
  let nextProbe = 0
  let liveInstances = opts.instanceCount ?? 1
  let heartbeat: NodeJS.Timeout | undefined
  if (redis !== undefined) redis.defineCommand('lucidGcra', { lua: GCRA_LUA })
  const key = (identity: string, rule: string) => `${opts.prefix}rl:{${identity}}:${rule}`
  const localNowUs = () => (opts.nowUs ?? (() => Date.now() * 1000))()

  function setMode(next: LimiterMode, err?: unknown): void {
    if (next === mode) return
    mode = next
    if (next === 'degraded') opts.log.warn({ err: (err as Error)?.message, failure_mode: opts.failureMode, instances: liveInstances }, 'rate limiter: Redis unavailable, switching to the failure mode')
    else opts.log.info({}, 'rate limiter: Redis is back, limits are shared again')
    opts.onModeChange?.(next)
  }

  /** Each instance's share while degraded: limit and burst ÷ live instances (at least 1). */
  function localShare(checks: RuleCheck[]): RuleCheck[] {
    if (liveInstances <= 1) return checks
    return checks.map((c) => ({
      ...c,
      rule: { ...c.rule, limit: Math.max(1, Math.floor(c.rule.limit / liveInstances)), burst: Math.max(1, Math.floor(c.rule.burst / liveInstances)) }
    }))
  }

  async function callRedis(identity: string, checks: RuleCheck[], kind: 'decide' | 'shape'): Promise<number[]> {
    const args: (string | number)[] = checks.map((c) => key(identity, c.rule.name))
    args.push(opts.nowUs === undefined ? 0 : Math.round(opts.nowUs()), kind)
    for (const c of checks) args.push(intervalUs(c.rule, c.penalty), toleranceUs(c.rule), c.cost)
    return withTimeout((redis as GcraRedis).lucidGcra(checks.length, ...args), opts.deadlineMs)
  }

  async function viaRedis<T>(fn: () => Promise<T>, fallback: () => T): Promise<T> {
    if (redis === undefined) return fallback()
    if (mode === 'degraded' && Date.now() < nextProbe) return fallback()
    try {
      const r = await fn()
      setMode('redis')
      return r
    } catch (err) {
      nextProbe = Date.now() + PROBE_MS
      setMode('degraded', err)
      return fallback()
    }
  }

  async function beat(): Promise<void> {
    if (redis === undefined || opts.instanceCount !== undefined) return
    const zkey = `${opts.prefix}rl-instances`
    const now = Date.now()
    try {
      const res = await withTimeout(redis.multi().zadd(zkey, now, instanceId).zremrangebyscore(zkey, 0, now - INSTANCE_TTL_MS).zcard(zkey).pexpire(zkey, INSTANCE_TTL_MS * 3).exec(), 1_000)
      const count = Number(res?.[2]?.[1] ?? 1)
      if (count >= 1) liveInstances = count
    } catch {
      // Keep the last known count while Redis is away.
    }
  }

  return {
    get mode() {
      return mode
    },
    instances: () => liveInstances,
    async decide(identity, checks) {
      const fallback = (): Decision => {
        if (opts.failureMode === 'open' && mode === 'degraded') return { outcomes: [], allowed: true, mode, bypass: 'open' }
        if (opts.failureMode === 'closed' && mode === 'degraded') return { outcomes: [], allowed: false, mode, bypass: 'closed' }
        const outcomes = local.decide(localShare(checks).map((c) => ({ ...c, key: key(identity, c.rule.name) })), localNowUs())
        return { outcomes, allowed: outcomes.every((o) => o.allowed), mode }
      }
      return viaRedis<Decision>(async () => {
        const rel = await callRedis(identity, checks, 'decide')
        const all = rel[checks.length] === 1
        const outcomes = checks.map((c, i) => ({ ...outcome(c, rel[i], 0).out, key: key(identity, c.rule.name), allowed: all }))
        return { outcomes, allowed: all, mode: 'redis' }
      }, fallback)
    },
    async shape(identity, check) {
      return viaRedis(
        async () => {
          const rel = await callRedis(identity, [check], 'shape')
          return Math.max(0, (rel[0] + intervalUs(check.rule, check.penalty) * check.cost - toleranceUs(check.rule)) / 1000)
        },
        () => local.shape({ ...localShare([check])[0], key: key(identity, check.rule.name) }, localNowUs())
      )
    },
    async debtMs(identity, ruleName) {
      const k = key(identity, ruleName)
      return viaRedis(
        async () => {
          const [v, t] = await withTimeout(Promise.all([redis!.get(k), redis!.time()]), opts.deadlineMs)
          const nowUs = opts.nowUs?.() ?? Number(t[0]) * 1e6 + Number(t[1])
          return v === null ? 0 : Math.max(0, (Number(v) - nowUs) / 1000)
        },
        () => Math.max(0, ((local.peek(k) ?? 0) - localNowUs()) / 1000)
      )
    },
    async inspect(identity, ruleNames) {
      const out: { rule: string; tat_ahead_ms: number }[] = []
      for (const r of ruleNames) out.push({ rule: r, tat_ahead_ms: Math.round(await this.debtMs(identity, r)) })
      return out
    },
    async clear(identity, ruleNames) {
      let n = local.clear(`${opts.prefix}rl:{${identity}}:`)
      if (redis !== undefined) n += await redis.del(...ruleNames.map((r) => key(identity, r)))
      return n
    },
    async identities(max) {
      const out = new Set<string>()
      const parse = (k: string) => /rl:\{([^}]+)\}:/.exec(k)?.[1]
      for (const k of local.keys()) {
        const id = parse(k)
        if (id !== undefined) out.add(id)
        if (out.size >= max) return [...out]
      }
      if (redis !== undefined) {
        const nodes = (redis as unknown as { nodes?: (role: string) => GcraRedis[] }).nodes?.('master') ?? [redis]
        for (const node of nodes) {
          let cursor = '0'
          do {
            const [next, keys] = (await withTimeout((node as unknown as { scan(...a: (string | number)[]): Promise<[string, string[]]> }).scan(cursor, 'MATCH', `${opts.prefix.replace(/[*?[\]\\]/g, '\\$&')}rl:{*`, 'COUNT', 500), opts.deadlineMs * 4)) as [string, string[]]
            for (const k of keys) {
              const id = parse(k)
              if (id !== undefined) out.add(id)
            }
            cursor = next
          } while (cursor !== '0' && out.size < max)
        }
      }
      return [...out].slice(0, max)
    },
    start() {
      void beat()
      heartbeat = setInterval(() => void beat(), HEARTBEAT_MS)
      heartbeat.unref()
    },
    async stop() {
      if (heartbeat !== undefined) clearInterval(heartbeat)
      if (redis !== undefined && opts.instanceCount === undefined) await withTimeout(redis.zrem(`${opts.prefix}rl-instances`, instanceId), 500).catch(() => undefined)
    }
  }
}
