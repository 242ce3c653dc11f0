/**
 * Shared upstream services: one UpstreamClient per service of the route table, their metrics,
 * active health checks (a job on the job runner, every UPSTREAM_HEALTH_INTERVAL_MS) feeding the
 * breakers, their entries in meta/health, and the X-Lucid-Identity signer.
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { FastifyInstance } from 'fastify'
import { BREAKER_STATE_VALUE } from '../proxy/circuit-breaker.js'
import { UpstreamClient } from '../proxy/upstream-client.js'
import { loadProxyTable, type ProxyTable } from '../proxy/route-table.js'
import { createUpstreamHistory, type UpstreamHistory } from '../proxy/upstream-history.js'
import { TOKEN_ISSUER } from '../crypto/tokens.js'
import { metricsIn } from '../prometheus.js'

declare module 'fastify' {
  interface FastifyInstance {
    upstreams: Map<string, UpstreamClient>
    proxyTable: ProxyTable
    /** A short-lived (60 s) EdDSA token asserting the verified identity to one upstream. */
    identityToken(user: { id: string; role: string }, audience: string): Promise<string>
    upstreamMetrics: { replays: client.Counter<'upstream'> }
    /** Recent breaker transitions, health checks and failures per upstream (this instance). */
    upstreamHistory: UpstreamHistory
  }
}

const IDENTITY_TTL_S = 60
// Reused for at most half its lifetime, so an upstream always sees ≥ 30 s of validity.
const IDENTITY_REUSE_MS = 30_000

async function upstreamsPlugin(app: FastifyInstance): Promise<void> {
  const table = loadProxyTable(app.config)
  // The upstream metrics, each labelled by upstream, in the app's registry.
  const metric = metricsIn(app.metrics.registry)
  const counter = (name: string, help: string, labelNames = ['upstream']) => metric.counter(name, help, labelNames)
  const requests = counter('upstream_requests_total', 'Upstream requests by outcome', ['upstream', 'outcome'])
  const duration = metric.histogram(
    'upstream_request_duration_seconds',
    'Time to upstream response headers',
    ['upstream'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
  )
  const breakerGauge = metric.gauge(
    'circuit_breaker_state',
    'Breaker state per upstream host: 0 closed, 1 half-open, 2 open',
    ['upstream', 'host']
  )
  const retries = counter('upstream_retries_total', 'Retried upstream requests')
  const replays = counter('upstream_idempotent_replays_total', 'Responses replayed from the idempotency store')

  const clients = new Map<string, UpstreamClient>()
  const history = createUpstreamHistory({ now: app.now })
  for (const service of table.services) {
    clients.set(
      service.name,
      new UpstreamClient(service, {
        now: app.now,
        breaker: app.config.upstreamBreaker,
        tracing: app.tracing,
        events: {
          onResult: (upstream, outcome, seconds) => {
            requests.inc({ upstream, outcome })
            duration.observe({ upstream }, seconds)
            if (outcome !== 'success') history.failed(upstream, outcome)
          },
          onRefused: (upstream, kind) => history.failed(upstream, kind),
          onHealthCheck: (upstream, host, check) => history.healthChecked(upstream, host, check),
          onRetry: (upstream) => retries.inc({ upstream }),
          onBreakerChange: (upstream, host, state) => {
            breakerGauge.set({ upstream, host }, BREAKER_STATE_VALUE[state])
            history.breakerChanged(upstream, host, state)
            if (state !== 'closed' || app.log.level === 'debug')
              app.log.warn({ upstream, host, state }, 'circuit breaker state changed')
          }
        }
      })
    )
    app.health.addUpstream(service.name, async () => {
      const hosts = clients.get(service.name)!.snapshot()
      const healthy = hosts.filter((h) => h.state !== 'open' && h.last_check?.ok !== false)
      const latency = hosts.map((h) => h.last_check?.latency_ms).find((l) => l !== undefined) ?? null
      return {
        status: healthy.length === hosts.length ? 'healthy' : healthy.length > 0 ? 'degraded' : 'unhealthy',
        latency_ms: latency,
        hosts
      }
    })
  }
  app.decorate('upstreams', clients)
  app.decorate('proxyTable', table)
  app.decorate('upstreamMetrics', { replays })
  app.decorate('upstreamHistory', history)

  // Their periodic health check is the job upstream-health of createServices (src/services/index.ts).
  app.addHook('onReady', async () => {
    if (app.config.jobsEnabled)
      void Promise.all([...clients.values()].map((c) => c.checkHealth())).catch(() => undefined)
  })
  app.addHook('onClose', async () => {
    await Promise.all([...clients.values()].map((c) => c.close()))
  })

  const cache = new Map<string, { token: string; until: number }>()
  app.decorate('identityToken', async (user: { id: string; role: string }, audience: string) => {
    const k = `${user.id}|${user.role}|${audience}`
    const hit = cache.get(k)
    if (hit !== undefined && hit.until > app.now()) return hit.token
    const iat = Math.floor(app.now() / 1000)
    const token = await new SignJWT({ role: user.role })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: app.identityKey.kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(audience)
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + IDENTITY_TTL_S)
      .sign(app.identityKey.privateKey)
    if (cache.size > 50_000) cache.clear()
    cache.set(k, { token, until: app.now() + IDENTITY_REUSE_MS })
    return token
  })
}

export default fp(upstreamsPlugin, {
  name: 'lucid-upstreams',
  dependencies: ['lucid-infrastructure', 'lucid-metrics', 'lucid-auth', 'lucid-tracing']
})
