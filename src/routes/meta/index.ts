import type { FastifyInstance } from 'fastify'
import { routeGroup } from '../shared/route.js'
import { Type } from '@sinclair/typebox'
import { withErrors } from '../../schemas/common.js'
import { BUILD_DATE, GATEWAY_VERSION } from '../../version.js'
import { HealthReportSchema, MetricsSummarySchema, ServiceInfoSchema, VersionInfoSchema } from './schema.js'

/** /api/v1/meta/* (plans-digest section 1.1). */
export default async function metaRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, tags, open, admin } = routeGroup(fastify, 'meta')

  app.get(
    '/info',
    open({ summary: 'Service information', response: withErrors({ 200: ServiceInfoSchema }) }),
    async () => ({
      service_name: 'lucid-api-gateway',
      version: GATEWAY_VERSION,
      build_date: BUILD_DATE,
      environment: app.config.environment,
      features: app.features
    })
  )

  app.get('/version', open({ summary: 'API version', response: withErrors({ 200: VersionInfoSchema }) }), async () => ({
    api_version: 'v1' as const,
    gateway_version: GATEWAY_VERSION,
    supported_versions: ['v1'],
    deprecation_notice: null
  }))

  app.get(
    '/health',
    {
      onRequest: [app.authenticateOptional],
      schema: {
        tags,
        summary: 'Dependency health report',
        description: '503 only when the database is down; degraded (200) when Redis or an upstream is.',
        response: withErrors({ 200: HealthReportSchema, 503: HealthReportSchema })
      }
    },
    async (request, reply) => {
      const report = await app.health.report()
      // Upstream host names are shown only to admins (CONTRACT.md section 3).
      const isAdmin = request.user !== undefined && ['admin', 'super_admin'].includes(request.user.role)
      const upstreams = Object.fromEntries(
        Object.entries(report.dependencies.upstreams).map(([name, u]) => {
          if (isAdmin) return [name, u]
          const { hosts: _hosts, ...rest } = u
          return [name, rest]
        })
      )
      return reply
        .code(report.status === 'unhealthy' ? 503 : 200)
        .send({ ...report, dependencies: { ...report.dependencies, upstreams } })
    }
  )

  app.get(
    '/upstreams',
    admin({
      summary: 'Upstream hosts with breaker state, counters and last health check (admin)',
      security: [{ bearerAuth: [] }],
      response: withErrors({
        200: Type.Object({
          upstreams: Type.Record(
            Type.String(),
            Type.Object({
              hosts: Type.Array(
                Type.Object({
                  host: Type.String(),
                  state: Type.String(),
                  requests: Type.Integer(),
                  failures: Type.Integer(),
                  last_check: Type.Union([
                    Type.Object({
                      at: Type.String(),
                      ok: Type.Boolean(),
                      latency_ms: Type.Number(),
                      error: Type.Optional(Type.String())
                    }),
                    Type.Null()
                  ])
                })
              )
            })
          )
        })
      })
    }),
    async () => ({
      upstreams: Object.fromEntries([...app.upstreams].map(([name, c]) => [name, { hosts: c.snapshot() }]))
    })
  )

  app.get(
    '/metrics',
    admin({
      summary: 'Traffic summary over the last minute (admin)',
      security: [{ bearerAuth: [] }],
      response: withErrors({ 200: MetricsSummarySchema })
    }),
    async () => ({ timestamp: new Date().toISOString(), metrics: app.metrics.summary() })
  )
}
