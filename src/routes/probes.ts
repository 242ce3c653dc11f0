import type { FastifyInstance } from 'fastify'
import { routeGroup } from './shared/route.js'
import { Type } from '@sinclair/typebox'
import client from 'prom-client'
import { withErrors } from '../schemas/common.js'
import { LivenessSchema, ReadinessSchema } from './meta/schema.js'
import type { Server } from 'node:http'
import { LucidError } from '../errors.js'
import { bearerMatches, startMetricsServer } from '../http/metrics-access.js'

/** Kubernetes probes and the Prometheus scrape endpoint, outside /api/v1 and never limited. */
export default async function probeRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, tags, open } = routeGroup(fastify, 'probes')
  const unlimited = { config: { rateLimit: false } }

  app.get(
    '/health',
    open({ summary: 'Liveness: the process is up', response: withErrors({ 200: LivenessSchema }) }, unlimited),
    async () => ({
      status: 'ok' as const,
      timestamp: new Date().toISOString()
    })
  )

  app.get(
    '/ready',
    open(
      {
        summary: 'Readiness: the database answers',
        response: withErrors({ 200: ReadinessSchema, 503: ReadinessSchema })
      },
      unlimited
    ),
    async (_request, reply) => {
      const start = performance.now()
      try {
        const latency = await app.repos.database.ping()
        return {
          status: 'ready' as const,
          database: { status: 'healthy', latency_ms: Math.round(latency * 100) / 100 }
        }
      } catch {
        return reply.code(503).send({
          status: 'not_ready' as const,
          database: { status: 'unhealthy', latency_ms: Math.round((performance.now() - start) * 100) / 100 }
        })
      }
    }
  )

  app.get(
    '/.well-known/jwks.json',
    open(
      {
        summary: 'Public keys: the X-Lucid-Identity key and, with JWT_ALGORITHM=EdDSA, the token keys',
        response: withErrors({
          200: Type.Object({
            keys: Type.Array(
              Type.Object({
                kty: Type.String(),
                crv: Type.String(),
                x: Type.String(),
                kid: Type.String(),
                alg: Type.String(),
                use: Type.String()
              })
            )
          })
        })
      },
      unlimited
    ),
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300')
      return app.jwks()
    }
  )

  const registry = app.metrics.registry
  // Dependency state for alerting, from the (cached) health report; 1 up or degraded, 0 down.
  new client.Gauge({
    name: 'dependency_up',
    help: 'Whether a dependency answers (database, state_store, upstream:NAME)',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const r = await app.health.report()
      this.set({ dependency: 'database' }, r.dependencies.database.status === 'unhealthy' ? 0 : 1)
      this.set({ dependency: 'state_store' }, r.dependencies.state_store.status === 'unhealthy' ? 0 : 1)
      for (const [name, d] of Object.entries(r.dependencies.upstreams))
        this.set({ dependency: `upstream:${name}` }, d.status === 'unhealthy' ? 0 : 1)
    }
  })
  new client.Gauge({
    name: 'backup_last_success_timestamp_seconds',
    help: 'Completion time of the newest completed backup (0: none)',
    registers: [registry],
    async collect() {
      // One indexed query on the backup catalogue; with the database down the gauge keeps its value
      // (and dependency_up says why).
      const t = await app.repos.backups.lastCompletedEpochSeconds().catch(() => undefined)
      if (t !== undefined) this.set(t)
    }
  })

  const { metricsToken: token, metricsPort, metricsHost } = app.config
  if (metricsPort !== undefined) {
    // Its own listener (METRICS_PORT); the API port does not serve /metrics at all.
    let server: Server | undefined
    app.addHook('onReady', async () => {
      const render = () => registry.metrics()
      const contentType = registry.contentType
      server = await startMetricsServer({ host: metricsHost, port: metricsPort, token, contentType, render })
    })
    app.addHook('onClose', async () => {
      await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)))
    })
    return
  }
  const summary =
    token === undefined
      ? 'Prometheus metrics (text exposition format)'
      : 'Prometheus metrics; needs the METRICS_TOKEN bearer'
  const schema = {
    tags,
    summary,
    errors: token === undefined ? [] : [401],
    produces: ['text/plain'],
    response: withErrors({ 200: Type.String() })
  }
  app.get('/metrics', { ...unlimited, schema }, async (request, reply) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"')
      throw new LucidError('AUTH_REQUIRED')
    }
    reply.type(app.metrics.registry.contentType)
    return app.metrics.registry.metrics()
  })
}
