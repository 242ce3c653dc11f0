/**
 * Operator endpoints behind the dashboard (issue 18), under /api/v1/meta: traffic history,
 * upstream breakers with their history, limits in force and the most limited identities, the
 * effective configuration (secrets masked), chain sync status and background jobs. All for admins,
 * each read audited like the storage API's (they expose operational data). Thin handlers over the
 * operator services built by createServices (`app.services.operator`, src/services/operator.ts).
 */
import type { FastifyInstance } from 'fastify'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { maskedConfig } from '../../cli/mask.js'
import { auditReads } from '../shared/audit-reads.js'
import {
  BreakersSchema,
  ChainStatusSchema,
  ConfigSchema,
  JobsSchema,
  LimitsQuerySchema,
  LimitsSchema,
  TrafficQuerySchema,
  TrafficSchema
} from './schema.js'

/** JSON-safe: RegExps (rule paths) as their source; the masking itself is the CLI's. */
function jsonSafe(v: unknown): unknown {
  if (v instanceof RegExp) return v.source
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]))
}

export default async function operatorRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin } = routeGroup(fastify, 'meta')
  auditReads(app, 'meta')
  const security = [{ bearerAuth: [] }]
  const scope = () => (app.stateStore.kind === 'redis' ? ('cluster' as const) : ('instance' as const))

  app.get(
    '/traffic',
    admin({
      security,
      summary: 'Requests/s, latency percentiles, errors by code, per route and upstream, last minutes (admin)',
      description: 'Kept in memory by each instance: the numbers are this instance\'s (scope "instance").',
      querystring: TrafficQuerySchema,
      response: withErrors({ 200: TrafficSchema })
    }),
    async (request) => ({
      scope: 'instance' as const,
      instance_id: app.traffic.instanceId,
      generated_at: new Date(app.now()).toISOString(),
      ...app.traffic.recorder.report(request.query.window_s)
    })
  )

  app.get(
    '/breakers',
    admin({
      security,
      summary: 'Every upstream and host: breaker state and history, health checks, retry budget, failures (admin)',
      description: 'Breakers are per instance (scope "instance").',
      response: withErrors({ 200: BreakersSchema })
    }),
    async () => {
      const b = app.config.upstreamBreaker
      return {
        scope: 'instance' as const,
        instance_id: app.traffic.instanceId,
        breaker: {
          failure_threshold: b.failureThreshold,
          success_threshold: b.successThreshold,
          open_ms: b.openMs,
          half_open_max_probes: b.halfOpenMaxProbes,
          health_interval_ms: app.config.upstreamHealthIntervalMs
        },
        upstreams: [...app.upstreams].map(([name, client]) => {
          const history = app.upstreamHistory.snapshot(name)
          return {
            name,
            prefixes: app.proxyTable.routes.filter((r) => r.upstream === name).map((r) => r.prefix),
            timeout_ms: client.service.timeoutMs,
            connect_timeout_ms: client.service.connectTimeoutMs,
            hosts: client.snapshot().map((h) => ({ ...h, checks: history.checks[h.host] ?? [] })),
            retry_budget: client.retryBudget(),
            transitions: history.transitions,
            failures: history.failures
          }
        })
      }
    }
  )

  app.get(
    '/limits',
    admin({
      security,
      summary: 'Rate-limit tiers and rules in force, and the identities closest to their limits now (admin)',
      querystring: LimitsQuerySchema,
      response: withErrors({ 200: LimitsSchema })
    }),
    async (request) => ({
      scope: scope(),
      ...app.services.operator.limits.status(),
      rules: app.services.operator.limits.rules(),
      identities: await app.services.operator.limits.mostLimited(request.query.top, request.query.scan)
    })
  )

  app.get(
    '/config',
    admin({
      security,
      summary: 'Effective configuration, secrets masked (admin)',
      response: withErrors({ 200: ConfigSchema })
    }),
    async () => ({
      generated_at: new Date(app.now()).toISOString(),
      settings: jsonSafe(maskedConfig(app.config)) as Record<string, unknown>
    })
  )

  app.get(
    '/chain',
    admin({
      security,
      summary: 'lucid_blocks tip, local copy, sync lag and manifests waiting to be anchored (admin)',
      response: withErrors({ 200: ChainStatusSchema })
    }),
    async (request) => app.services.operator.chainStatus.status(request.trace?.context)
  )

  app.get(
    '/jobs',
    admin({
      security,
      summary: 'Background jobs and their last runs (admin)',
      response: withErrors({ 200: JobsSchema })
    }),
    async () => {
      const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())
      const rows = await app.services.operator.operations.jobRuns()
      return {
        defined: [...app.jobs.jobs],
        jobs: rows.map((r) => ({
          ...r,
          last_started_at: iso(r.last_started_at),
          last_finished_at: iso(r.last_finished_at)
        }))
      }
    }
  )
}
