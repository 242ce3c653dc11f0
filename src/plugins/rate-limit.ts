/**
 * Rate limiting (issue 4): the limiter, its rules and metrics, and `decide`, which the pipeline's
 * limit stage (src/pipeline/limit.ts) calls on every request before the routes' own guards, so
 * floods are limited even when they fail authentication. User tiers per user id or API key,
 * public per client IP (`trustProxy` decides which address that is).
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import { Transform, type Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { LucidError } from '../errors.js'
import { createLimiter, type Decision, type Limiter } from '../ratelimit/limiter.js'
import { defaultRules, matchingRules, tierRule, type RouteRule } from '../ratelimit/rules.js'
import type { RuleCheck, RuleOutcome, RuleSpec } from '../ratelimit/gcra.js'
import type { AuthUser } from './auth.js'
import { inStage } from '../tracing/request.js'
import { clientKey } from '../admission/client-key.js'

declare module 'fastify' {
  interface FastifyInstance {
    rateLimit: RateLimitService
  }
  interface FastifyContextConfig {
    /** false exempts a route (probes, metrics). */
    rateLimit?: boolean
    /** Informational: names the rule a route falls under, for the docs. */
    rateLimitRule?: string
    /** Set on proxy routes: the route-table prefix they serve. */
    proxyRoute?: string
  }
}

export interface RateLimitService {
  limiter: Limiter
  /** Wraps an upload so it flows at the user's bandwidth share (backpressure, never cut). */
  shapeUpload(request: FastifyRequest, body: Readable): Promise<Readable>
  /** Every rule name that can hold state for an identity. */
  ruleNames(): string[]
  /**
   * The decision for a request outside Fastify's lifecycle (a WebSocket upgrade): the headers to
   * send, and the error to answer with when refused. `path` is the normalised path.
   */
  decide(input: LimitInput): Promise<LimitDecision>
}

export interface LimitDecision {
  headers: Record<string, string>
  error?: LucidError
}

export interface LimitInput {
  ip: string
  user: AuthUser | null
  method: string
  path: string
  log?: FastifyRequest['log']
  trace?: FastifyRequest['trace']
}

const PRE_CHECK_DEBT_MS = 3_000
const SHAPE_GRANULE = 64 * 1024

/**
 * The bucket owner. A user's API keys share the user's bucket (issue 12 finding 10: one bucket per
 * key let a user multiply their tier by minting keys); an IPv6 client is its /64 (RATE_LIMIT_IPV6_PREFIX),
 * named by the network's address (`ip:2001:db8:1:2::`), the form the cache API's identity takes.
 */
export function bucketIdentity(ip: string, user: AuthUser | null, key: 'ip' | 'user', ipv6PrefixBits: number): string {
  if (key === 'user' && user !== null) return `user:${user.id}`
  return `ip:${clientKey(ip, ipv6PrefixBits).replace(/\/\d+$/, '')}`
}

function headerValues(o: RuleOutcome) {
  const windowS = Math.round(o.rule.periodMs / 1000)
  return {
    'ratelimit-policy': `"${o.rule.name}";q=${o.rule.limit};w=${windowS}`,
    ratelimit: `"${o.rule.name}";r=${o.remaining};t=${o.resetS}`,
    'x-ratelimit-limit': String(o.rule.limit),
    'x-ratelimit-remaining': String(o.remaining),
    'x-ratelimit-reset': String(o.resetS)
  }
}

async function rateLimitPlugin(app: FastifyInstance): Promise<void> {
  const cfg = app.config.rateLimit
  const rules: RouteRule[] = [...defaultRules(cfg), ...cfg.rules]
  const bandwidth: RuleSpec = {
    name: 'chunk_bandwidth',
    limit: cfg.bandwidthBytesPerS,
    periodMs: 1_000,
    burst: cfg.bandwidthBytesPerS
  }
  // The limiter shares the state store's connection and namespace.
  const redis = app.stateStore.redis?.client
  const prefix = app.stateStore.redis?.prefix
  const decisions = new client.Counter({
    name: 'rate_limit_decisions_total',
    help: 'Rate-limit decisions by policy and result',
    labelNames: ['policy', 'result'],
    registers: [app.metrics.registry]
  })
  const cachedDenials = new client.Counter({
    name: 'rate_limit_cached_denials_total',
    help: 'Refusals repeated from the local denial cache without a Redis call (also in rate_limit_decisions_total)',
    registers: [app.metrics.registry]
  })
  const degradedGauge = new client.Gauge({
    name: 'rate_limit_degraded',
    help: '1 while the limiter runs on its local share because Redis is unavailable',
    registers: [app.metrics.registry]
  })
  const limiter = createLimiter({
    redis,
    prefix: prefix ?? app.config.stateKeyPrefix,
    deadlineMs: cfg.redisTimeoutMs,
    failureMode: cfg.failureMode,
    degradedStart: cfg.degradedStart,
    denialCacheMs: cfg.denialCacheMs,
    instanceCount: cfg.instanceCount,
    log: app.log,
    onModeChange: (mode) => degradedGauge.set(mode === 'degraded' ? 1 : 0)
  })
  new client.Gauge({
    name: 'rate_limit_instances',
    help: 'Gateway processes sharing the limits (heartbeats in Redis); divides them while degraded',
    registers: [app.metrics.registry],
    collect() {
      this.set(limiter.instances())
    }
  })
  app.addHook('onReady', async () => limiter.start())
  app.addHook('onClose', async () => limiter.stop())
  app.health.addDependency('rate_limiter', async () => ({
    status: limiter.mode === 'degraded' ? 'degraded' : 'healthy',
    latency_ms: null,
    mode: limiter.mode,
    failure_mode: cfg.failureMode,
    instances: limiter.instances()
  }))

  // Escalation (off by default): repeated 429s put a user on half limits for an hour.
  const penaltyCache = new Map<string, { until: number; penalised: boolean }>()
  async function penaltyFor(identity: string): Promise<number> {
    const hit = penaltyCache.get(identity)
    if (hit !== undefined && hit.until > Date.now()) return hit.penalised ? 2 : 1
    const penalised = (await app.stateStore.get(`rl-penalty:${identity}`).catch(() => null)) !== null
    penaltyCache.set(identity, { until: Date.now() + 5_000, penalised })
    return penalised ? 2 : 1
  }
  async function recordViolation(identity: string): Promise<void> {
    if (!cfg.escalation || !identity.startsWith('user:')) return
    const n = await app.stateStore.incr(`rl-violations:${identity}`, 1, 10 * 60_000).catch(() => 0)
    if (n >= 3) {
      await app.stateStore.set(`rl-penalty:${identity}`, '1', { ttlMs: 3_600_000 }).catch(() => undefined)
      penaltyCache.delete(identity)
      app.log.warn({ identity }, 'rate limit escalation: half limits for one hour')
    }
  }

  /** The limiter's decision for one bucket; with escalation on, a penalised user's costs doubled. */
  function decideGroup([identity, checks]: [string, RuleCheck[]]): Promise<Decision> {
    // No escalation (the default), no penalty lookup: the decision is the limiter's call alone.
    if (!cfg.escalation || !identity.startsWith('user:')) return limiter.decide(identity, checks)
    return penaltyFor(identity).then((penalty) =>
      limiter.decide(identity, penalty === 1 ? checks : checks.map((c) => ({ ...c, penalty })))
    )
  }

  async function decide({ ip, user, method, path, log, trace }: LimitInput): Promise<LimitDecision> {
    const v6 = cfg.ipv6PrefixBits
    const groups = new Map<string, RuleCheck[]>()
    const add = (identity: string, rule: RuleSpec) => {
      const list = groups.get(identity) ?? []
      list.push({ rule, key: rule.name, cost: 1 })
      groups.set(identity, list)
    }
    add(bucketIdentity(ip, user, 'user', v6), tierRule(cfg, user?.role))
    for (const r of matchingRules(rules, method, path)) add(bucketIdentity(ip, user, r.key, v6), r)

    const results: Decision[] = await inStage(trace, 'limit', () =>
      // One bucket (a request no rule matches: most of them) needs no Promise.all.
      groups.size === 1
        ? decideGroup(groups.entries().next().value as [string, RuleCheck[]]).then((d) => [d])
        : Promise.all([...groups].map(decideGroup))
    )
    if (results.some((d) => d.bypass === 'closed')) {
      return { headers: {}, error: new LucidError('SERVICE_UNAVAILABLE', 'Rate limiter unavailable') }
    }
    for (const d of results) if (d.cached === true) cachedDenials.inc()
    const outcomes = results.flatMap((d) => d.outcomes)
    if (outcomes.length === 0) return { headers: {} }
    const denied = outcomes.filter((o) => !o.allowed && o.retryAfterMs > 0)
    for (const o of outcomes) decisions.inc({ policy: o.rule.name, result: denied.includes(o) ? 'limited' : 'allowed' })
    // Headers describe the rule closest to exhaustion (or the one that refused).
    const shown =
      denied.length > 0
        ? denied.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
        : outcomes.reduce((a, b) => (b.remaining / b.rule.limit < a.remaining / a.rule.limit ? b : a))
    const headers = headerValues(shown)
    if (denied.length > 0 || results.some((d) => !d.allowed)) {
      const retryS = Math.max(1, Math.ceil(shown.retryAfterMs / 1000))
      log?.info({ policy: shown.rule.name, retry_after_s: retryS, user_id: user?.id }, 'rate limited')
      void recordViolation(bucketIdentity(ip, user, 'user', v6))
      const windowS = Math.round(shown.rule.periodMs / 1000)
      const message = `Rate limit exceeded: ${shown.rule.limit} requests per ${windowS} s (${shown.rule.name})`
      const error = new LucidError('RATE_LIMITED', message, {
        headers: { 'retry-after': String(retryS) },
        details: {
          policy: shown.rule.name,
          limit: shown.rule.limit,
          window_s: Math.round(shown.rule.periodMs / 1000),
          retry_after_s: retryS
        }
      })
      return { headers, error }
    }
    return { headers }
  }

  app.decorate('rateLimit', {
    limiter,
    decide: (input: LimitInput): Promise<LimitDecision> =>
      cfg.enabled ? decide(input) : Promise.resolve({ headers: {} }),
    ruleNames: () => [
      'public',
      'authenticated',
      'node_operator',
      'admin',
      'chunk_bandwidth',
      ...rules.map((r) => r.name)
    ],
    async shapeUpload(request: FastifyRequest, body: Readable): Promise<Readable> {
      if (!cfg.enabled) return body
      const user = request.user ?? (await app.resolveIdentity(request).catch(() => null))
      const identity = bucketIdentity(request.ip, user, 'user', cfg.ipv6PrefixBits)
      if ((await limiter.debtMs(identity, bandwidth.name)) > PRE_CHECK_DEBT_MS) {
        decisions.inc({ policy: bandwidth.name, result: 'limited' })
        throw new LucidError(
          'BANDWIDTH_LIMITED',
          `Upload bandwidth above ${cfg.bandwidthBytesPerS} bytes/s; retry later`,
          { headers: { 'retry-after': String(Math.ceil(PRE_CHECK_DEBT_MS / 1000)) } }
        )
      }
      decisions.inc({ policy: bandwidth.name, result: 'allowed' })
      let pending = 0
      // Counts bytes as they arrive (Content-Length is never trusted) and delays the next read
      // while the user is ahead of the rate: TCP backpressure slows the sender.
      const shaper = new Transform({
        async transform(chunk: Buffer, _enc, done) {
          pending += chunk.length
          if (pending >= SHAPE_GRANULE) {
            const cost = pending
            pending = 0
            const waitMs = await limiter.shape(identity, { rule: bandwidth, key: bandwidth.name, cost }).catch(() => 0)
            if (waitMs > 1) await sleep(waitMs)
          }
          done(null, chunk)
        },
        async flush(done) {
          if (pending > 0)
            await limiter.shape(identity, { rule: bandwidth, key: bandwidth.name, cost: pending }).catch(() => 0)
          done()
        }
      })
      body.on('error', (err) => shaper.destroy(err))
      return body.pipe(shaper)
    }
  })
}

export default fp(rateLimitPlugin, {
  name: 'lucid-rate-limit',
  dependencies: ['lucid-auth', 'lucid-metrics', 'lucid-infrastructure']
})
