/**
 * The limiter behind the rate-limit plugin: GCRA in Redis (one Lua call per identity per decision,
 * keys hash-tagged by identity so a call stays in one Cluster slot) or in memory.
 *
 * Exactness is the invariant (issue 14): while Redis answers, every decision is Redis's, however
 * long this process's busy event loop makes a reply wait. Redis counts as failed only on evidence
 * about Redis (redis-watch.ts). Then RATE_LIMIT_FAILURE_MODE applies: `degrade` enforces
 * limit ÷ live instances locally, each key starting from the TAT Redis last reported (a mirror kept
 * from every reply), so entering degraded mode hands out no fresh budget; `open` admits, `closed`
 * refuses. What was admitted locally is added to Redis before Redis decides again
 * (degraded-ledger.ts), so leaving degraded mode hands out none either.
 *
 * The limiter has its own connection (a duplicate of the state store's, without a command timeout:
 * that timeout is a timer on this loop too), so its calls never queue behind other commands.
 */
import { randomUUID } from 'node:crypto'
import { MemoryGcra, intervalUs, outcome, toleranceUs, type RuleCheck } from './gcra.js'
import { ABANDONED, createRedisWatch, type FailureReason } from './redis-watch.js'
import { DegradedLedger, defineMerge, shareOf } from './degraded-ledger.js'
import { createInstanceTracker } from './instances.js'
import { GCRA_LUA, gcraArgs, ownConnection, untilReady } from './redis-gcra.js'
import { identityOfKey, readTatAhead, scanIdentities } from './redis-inspect.js'
import { DenialCache } from './denial-cache.js'
import type { Decision, Limiter, LimiterMode, LimiterOptions } from './limiter-types.js'
export type { Decision, FailureMode, Limiter, LimiterMode, LimiterOptions } from './limiter-types.js'

/** While degraded, how often Redis is asked whether it is back (one PING in flight at most). */
const PROBE_MS = 100
/** After Redis is back, how long decisions stay local so every instance can merge its ledger first. */
const RECOVERY_GRACE_MS = 500

export function createLimiter(opts: LimiterOptions): Limiter {
  const local = new MemoryGcra() // memory mode, and the degraded shares
  const mirror = new MemoryGcra() // TATs Redis last reported, in Redis units
  const ledger = new DegradedLedger()
  const redis = opts.redis === undefined ? undefined : ownConnection(opts.redis)
  let mode: LimiterMode = redis === undefined ? 'memory' : 'redis'
  let epoch: string | null = null
  let probing = false
  let stopped = false
  let started = false
  let probeTimer: NodeJS.Timeout | undefined
  const key = (identity: string, rule: string) => `${opts.prefix}rl:{${identity}}:${rule}`
  const localNowUs = () => (opts.nowUs ?? (() => Date.now() * 1000))()
  const epochKey = `${opts.prefix}rl-epoch`
  // Refusals repeat without a Redis call until they can end (denial-cache.ts says why it is exact).
  const denials = new DenialCache(opts.denialCacheMs ?? 0)
  const monoUs = opts.nowUs ?? (() => performance.now() * 1000)

  const watch = createRedisWatch({
    overdueMs: opts.deadlineMs,
    isConnected: () => redis?.status === 'ready',
    watching: () => mode === 'redis',
    onFailure: (reason, err) => fail(reason, err)
  })
  const tracker =
    redis === undefined || opts.instanceCount !== undefined
      ? undefined
      : createInstanceTracker({
          redis,
          key: `${opts.prefix}rl-instances`,
          canBeat: () => mode === 'redis' && redis.status === 'ready'
        })
  const liveInstances = () => opts.instanceCount ?? tracker?.count() ?? 1
  if (redis !== undefined) {
    redis.defineCommand('lucidGcra', { lua: GCRA_LUA })
    defineMerge(redis)
    // A close during the first connection is the client settling (a Cluster client drops and
    // remakes node connections while it learns the slots), not evidence that Redis failed:
    // start() waits for the first 'ready' and decides then.
    redis.on('close', () => started && fail('disconnected'))
  }

  function fail(reason: FailureReason, err?: unknown): void {
    if (mode !== 'redis' || stopped) return
    mode = 'degraded'
    // `local` holds only what was decided locally since the last recovery (it is reset then), so
    // the shares start from the mirror plus those decisions.
    watch.abandonAll()
    // Keys decided locally after single failed calls started from the mirror; an outage starts
    // them all over from the minimal bucket (the ledger keeps their debt for the merge).
    if (opts.degradedStart !== 'last-known') local.reset()
    const e = err as Error | undefined
    opts.log.warn(
      { reason, err: e?.message, failure_mode: opts.failureMode, instances: liveInstances() },
      'rate limiter: Redis unavailable, switching to the failure mode'
    )
    opts.onModeChange?.(mode)
  }

  async function claimEpoch(): Promise<string | null> {
    await redis!.set(epochKey, randomUUID(), 'NX')
    return redis!.get(epochKey)
  }

  /** Pushes the ledger (and the whole mirror when Redis lost its state) into Redis. */
  async function mergeLedger(lost: boolean): Promise<void> {
    if (ledger.size === 0 && !lost) return
    const nowUs = localNowUs()
    await ledger.merge(redis!, {
      nowUs,
      serverTime: opts.nowUs === undefined,
      localTat: (k) => local.peek(k),
      mirror: lost ? mirror.entries() : undefined
    })
  }

  async function recover(): Promise<void> {
    const lost = (await redis!.get(epochKey)) !== epoch
    await mergeLedger(lost)
    await new Promise((r) => setTimeout(r, RECOVERY_GRACE_MS).unref())
    await mergeLedger(false)
    if (lost) epoch = await claimEpoch()
    mode = 'redis'
    denials.clear() // Redis may have lost its state (TATs reset): no refusal learnt before holds
    opts.log.info({ merged_lost_state: lost }, 'rate limiter: Redis is back, limits are shared again')
    opts.onModeChange?.(mode)
    void tracker?.beat()
    // Whatever was decided locally since the last merge; then the shares are done with.
    await mergeLedger(false).catch(() => undefined)
    if (mode === 'redis') local.reset()
  }

  function probe(): void {
    if (mode !== 'degraded' || probing || redis?.status !== 'ready') return
    probing = true
    redis
      .ping()
      .then(recover)
      .catch(() => undefined)
      .finally(() => (probing = false))
  }

  /**
   * Where a key's first local decision in a degraded period starts. No instance knows what the
   * others admitted through Redis since its last reply (or at all, for a key it never saw), so
   * `minimal` (the default) with several live instances leaves one request in the bucket (less if
   * Redis last said it was spent), then only the refill of the share: a fresh client is still
   * served, and the outage can over-admit at most one request per instance and identity.
   * With one live instance, and with `last-known`: from the TAT Redis last reported to this
   * instance (README "Rate limiting" has the worst cases).
   */
  function seedLocal(k: string, check: RuleCheck, nowUs: number): void {
    if (local.peek(k) !== null) return
    const seen = mirror.peek(k)
    ledger.touch(k, seen, liveInstances())
    // A single failed call while Redis is up (mode still 'redis') resumes from the mirror: Redis
    // learns of that decision at once (mergeLedger), and `fail` forgets it if an outage follows.
    // With one live instance nobody else admitted through Redis: its mirror is the whole story.
    if (mode === 'degraded' && opts.degradedStart !== 'last-known' && liveInstances() > 1)
      local.set(k, Math.max(seen ?? 0, nowUs + toleranceUs(check.rule) - intervalUs(check.rule, check.penalty)), nowUs)
    else if (seen !== null) local.set(k, seen, nowUs)
  }

  function decideLocally(identity: string, checks: RuleCheck[]): Decision {
    if (mode === 'degraded' && opts.failureMode === 'open') return { outcomes: [], allowed: true, mode, bypass: 'open' }
    if (mode === 'degraded' && opts.failureMode === 'closed')
      return { outcomes: [], allowed: false, mode, bypass: 'closed' }
    const nowUs = localNowUs()
    const keyed = shareOf(checks, liveInstances()).map((c) => ({ ...c, key: key(identity, c.rule.name) }))
    if (redis !== undefined) for (const c of keyed) seedLocal(c.key, c, nowUs)
    const outcomes = local.decide(keyed, nowUs)
    const allowed = outcomes.every((o) => o.allowed)
    if (allowed && redis !== undefined)
      checks.forEach((c, i) => ledger.add(keyed[i].key, intervalUs(c.rule, c.penalty) * c.cost))
    // Decided locally although Redis is up (one failed call): Redis learns of it right away.
    if (redis !== undefined && mode === 'redis') void mergeLedger(false).catch(() => undefined)
    return { outcomes, allowed, mode }
  }

  /** One GCRA call; undefined when it must be decided locally (failure mode, or this call failed). */
  async function viaRedis(
    identity: string,
    checks: RuleCheck[],
    kind: 'decide' | 'shape'
  ): Promise<number[] | undefined> {
    if (redis === undefined || mode !== 'redis') return undefined
    // A reply arriving after the call was abandoned: Redis counted what it admitted; refund it.
    const late = (rel: number[]) => {
      if (opts.failureMode === 'open') return // admitted anyway: Redis counted it rightly
      if (kind === 'shape' || rel[checks.length] === 1)
        checks.forEach((c) => ledger.add(key(identity, c.rule.name), -intervalUs(c.rule, c.penalty) * c.cost))
    }
    try {
      const rel = await watch.call(
        redis.lucidGcra(checks.length, ...gcraArgs(checks, (c) => key(identity, c.rule.name), kind, opts.nowUs)),
        late
      )
      if (rel === ABANDONED) return undefined
      const admitted = kind === 'shape' || rel[checks.length] === 1
      const nowUs = localNowUs()
      checks.forEach((c, i) =>
        mirror.set(
          key(identity, c.rule.name),
          nowUs + rel[i] + (admitted ? intervalUs(c.rule, c.penalty) * c.cost : 0),
          nowUs
        )
      )
      return rel
    } catch {
      return undefined
    }
  }

  return {
    get mode() {
      return mode
    },
    instances: liveInstances,
    async decide(identity, checks) {
      // A refusal still in force is repeated as Redis gave it, without asking again (denial-cache.ts).
      const sentUs = monoUs()
      const repeat = mode === 'redis' ? denials.lookup(identity, checks, sentUs) : undefined
      const rel = repeat ?? (await viaRedis(identity, checks, 'decide'))
      if (rel === undefined) return decideLocally(identity, checks)
      const all = repeat === undefined && rel[checks.length] === 1
      if (!all && repeat === undefined) denials.remember(identity, checks, rel, sentUs)
      const outcomes = checks.map((c, i) => ({
        ...outcome(c, rel[i], 0).out,
        key: key(identity, c.rule.name),
        allowed: all
      }))
      return { outcomes, allowed: all, mode: 'redis', ...(repeat !== undefined && { cached: true as const }) }
    },
    async shape(identity, check) {
      const rel = await viaRedis(identity, [check], 'shape')
      if (rel !== undefined)
        return Math.max(
          0,
          (rel[0] + intervalUs(check.rule, check.penalty) * check.cost - toleranceUs(check.rule)) / 1000
        )
      const nowUs = localNowUs()
      const k = key(identity, check.rule.name)
      if (redis !== undefined) {
        seedLocal(k, shareOf([check], liveInstances())[0], nowUs)
        ledger.add(k, intervalUs(check.rule, check.penalty) * check.cost)
      }
      return local.shape({ ...shareOf([check], liveInstances())[0], key: k }, nowUs)
    },
    async debtMs(identity, ruleName) {
      const k = key(identity, ruleName)
      if (redis !== undefined && mode === 'redis') {
        try {
          const r = await watch.call(readTatAhead(redis, k, opts.nowUs))
          if (r !== ABANDONED) return Math.max(0, r / 1000)
        } catch {
          // decided from local state below
        }
      }
      return Math.max(0, ((local.peek(k) ?? mirror.peek(k) ?? 0) - localNowUs()) / 1000)
    },
    async inspect(identity, ruleNames) {
      const ahead = await Promise.all(ruleNames.map((r) => this.debtMs(identity, r)))
      return ruleNames.map((rule, i) => ({ rule, tat_ahead_ms: Math.round(ahead[i]) }))
    },
    async clear(identity, ruleNames) {
      denials.forget(identity)
      let n = local.clear(`${opts.prefix}rl:{${identity}}:`)
      mirror.clear(`${opts.prefix}rl:{${identity}}:`)
      if (redis !== undefined) n += await redis.del(...ruleNames.map((r) => key(identity, r)))
      return n
    },
    async identities(max) {
      const out = new Set<string>()
      for (const k of [...local.keys(), ...mirror.keys()]) {
        const id = identityOfKey(k)
        if (id !== undefined) out.add(id)
        if (out.size >= max) return [...out]
      }
      if (redis !== undefined) await scanIdentities(redis, opts.prefix, out, max, Math.max(1_000, opts.deadlineMs * 4))
      return [...out].slice(0, max)
    },
    async start() {
      if (redis === undefined) return
      await untilReady(redis, 5_000)
      started = true
      if (redis.status === 'ready') {
        epoch = await claimEpoch().catch(() => null)
        await tracker?.beat()
      } else {
        fail('disconnected')
      }
      watch.start()
      tracker?.start()
      probeTimer = setInterval(probe, PROBE_MS)
      probeTimer.unref()
      redis.on('ready', probe)
    },
    async stop() {
      stopped = true
      watch.stop()
      if (probeTimer !== undefined) clearInterval(probeTimer)
      await tracker?.stop()
      redis?.disconnect()
    }
  }
}
