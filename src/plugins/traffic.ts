/**
 * Feeds the dashboard's traffic history (src/services/traffic.ts): one sample per finished
 * request, and once a second the growth of `upstream_requests_total`, so the upstream client keeps
 * a single place that counts its outcomes (the Prometheus counter) and this plugin only reads it.
 */
import fp from 'fastify-plugin'
import { hostname } from 'node:os'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createTrafficRecorder, type TrafficRecorder } from '../services/traffic.js'
import { defaultRules } from '../ratelimit/rules.js'
import { errorCodeOf } from './errors.js'
import type { AuthUser } from './auth.js'
import { bucketIdentity } from './rate-limit.js'

declare module 'fastify' {
  interface FastifyInstance {
    traffic: {
      recorder: TrafficRecorder
      /** Names this process in per-instance reports: host name and process id. */
      instanceId: string
    }
  }
}

const SAMPLE_MS = 1_000

async function trafficPlugin(app: FastifyInstance): Promise<void> {
  const recorder = createTrafficRecorder({ now: app.now })
  const instanceId = `${hostname()}:${process.pid}`
  app.decorate('traffic', { recorder, instanceId })

  // Which identity a refused request was counted against: the policy named in RateLimit-Policy
  // tells whether its bucket is per IP or per user (CONTRACT.md section 5).
  const cfg = app.config.rateLimit
  const ipRules = [...defaultRules(cfg), ...cfg.rules].filter((r) => r.key === 'ip').map((r) => r.name)
  const perIp = new Set(['public', ...ipRules])
  async function limitedIdentity(request: FastifyRequest, policy: string): Promise<string> {
    const user: AuthUser | null = request.user ?? (await request.authResolution?.catch(() => null)) ?? null
    return bucketIdentity(request.ip, user, perIp.has(policy) ? 'ip' : 'user', cfg.ipv6PrefixBits)
  }

  // A callback hook, not an async one: the common path costs no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const sample = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: reply.elapsedTime,
      code: errorCodeOf(request)
    }
    if (reply.statusCode !== 429) {
      recorder.record(sample)
      return done()
    }
    const policy = /^"([^"]+)"/.exec(String(reply.getHeader('ratelimit-policy') ?? ''))?.[1] ?? 'public'
    void limitedIdentity(request, policy).then((limitedIdentity) => recorder.record({ ...sample, limitedIdentity }))
    done()
  })

  // Upstream outcomes: the counter's growth since the last look, attributed to this second.
  const seen = new Map<string, number>()
  async function sampleUpstreams(): Promise<void> {
    const metric = app.metrics.registry.getSingleMetric('upstream_requests_total')
    if (metric === undefined) return
    for (const v of (await metric.get()).values) {
      const upstream = String(v.labels.upstream)
      const outcome = String(v.labels.outcome)
      const key = `${upstream}\u0000${outcome}`
      const grew = v.value - (seen.get(key) ?? 0)
      seen.set(key, v.value)
      recorder.recordUpstream(upstream, outcome, grew)
    }
  }
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await sampleUpstreams()
    timer = setInterval(() => void sampleUpstreams().catch(() => undefined), SAMPLE_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => clearInterval(timer))
}

export default fp(trafficPlugin, { name: 'lucid-traffic', dependencies: ['lucid-metrics', 'lucid-infrastructure'] })
