/**
 * /api/v1/database (issue 7): health, statistics, slow statements (this file), collections (tables
 * of the `user_data` schema; the gateway's own tables are listed read-only) and their indexes
 * (collections.ts). Reads are for admins, writes for super_admins (drops also need confirm=true);
 * all audited. The SQL is the catalogue repository's (src/data/repositories/database-catalog.ts).
 */
import type { FastifyInstance } from 'fastify'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { auditReads } from '../shared/audit-reads.js'
import { HealthSchema, PerformanceQuery, PerformanceSchema, RecommendedSchema, StatsSchema } from './schema.js'
import collectionRoutes from './collections.js'

const round2 = (ms: number) => Math.round(ms * 100) / 100

export default async function databaseRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'database')
  const catalog = app.repos.databaseCatalog
  auditReads(app, 'database', ['/api/v1/database/collections/:name/validate'])

  await catalog.ensureUserSchema().catch((err: Error) => app.log.warn({ err }, 'could not create the user_data schema'))

  app.get(
    '/health',
    admin({
      summary: 'Database, cache and search health',
      response: withErrors({ 200: HealthSchema, 503: HealthSchema })
    }),
    async (_request, reply) => {
      const last_check = new Date().toISOString()
      const kind = catalog.kind
      const database = await catalog.ping().then(
        async (ms) => ({
          status: 'healthy' as const,
          kind,
          version: await catalog.version(),
          latency_ms: round2(ms),
          last_check
        }),
        (err: Error) => ({
          status: 'unhealthy' as const,
          kind,
          version: null,
          error: err.message,
          latency_ms: null,
          last_check
        })
      )
      const cacheStats = await app.stateStore.stats().catch(() => undefined)
      const cache = await app.stateStore.ping().then(
        (ms) => ({
          status: 'healthy' as const,
          kind: app.stateStore.kind,
          version: cacheStats?.version ?? null,
          latency_ms: round2(ms),
          last_check
        }),
        (err: Error) => ({
          status: 'unhealthy' as const,
          kind: app.stateStore.kind,
          error: err.message,
          latency_ms: null,
          last_check
        })
      )
      const search =
        database.status === 'healthy'
          ? {
              status: 'healthy' as const,
              engine: 'postgresql-fts' as const,
              version: database.version,
              suggestions: (await catalog.hasExtension('pg_trgm').catch(() => false))
                ? ('pg_trgm' as const)
                : ('prefix' as const),
              latency_ms: database.latency_ms,
              last_check
            }
          : { status: 'unhealthy' as const, engine: 'postgresql-fts' as const, last_check }
      const status = database.status !== 'healthy' ? 'unhealthy' : cache.status !== 'healthy' ? 'degraded' : 'healthy'
      return reply.code(database.status === 'healthy' ? 200 : 503).send({ status, database, cache, search })
    }
  )

  app.get(
    '/stats',
    admin({
      summary: 'Tables, sizes, connections, operation counters; cache memory and hit rate',
      response: withErrors({ 200: StatsSchema })
    }),
    async () => {
      const [tables, stats] = await Promise.all([catalog.listCollections(), catalog.statistics()])
      const hits = stats.counters.blks_hit ?? 0
      const reads = stats.counters.blks_read ?? 0
      return {
        database: {
          kind: catalog.kind,
          size_bytes: stats.size_bytes,
          tables: tables.length,
          rows_estimated: tables.reduce((a, t) => a + t.estimated_rows, 0),
          data_size_bytes: tables.reduce((a, t) => a + t.size_bytes - t.index_size_bytes, 0),
          index_size_bytes: tables.reduce((a, t) => a + t.index_size_bytes, 0),
          connections: stats.connections,
          counters: stats.counters,
          buffer_hit_rate: hits + reads === 0 ? null : Math.round((hits / (hits + reads)) * 10_000) / 10_000,
          per_table: stats.per_table
        },
        cache: await app.stateStore.stats()
      }
    }
  )

  app.get(
    '/performance',
    admin({
      summary: 'Slowest statements (pg_stat_statements when installed)',
      querystring: PerformanceQuery,
      response: withErrors({ 200: PerformanceSchema })
    }),
    async (request) => {
      const statements = await catalog.slowStatements(request.query.limit)
      if (statements === null) {
        return {
          available: false,
          statements: [],
          note: 'pg_stat_statements is not installed: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements to see the slowest statements'
        }
      }
      return { available: true, statements }
    }
  )

  app.post(
    '/indexes/recommended',
    superAdmin({
      summary: "Create every recommended index on the gateway's own tables (super_admin)",
      response: withErrors({ 200: RecommendedSchema })
    }),
    async (request) => {
      const { created, existing } = await catalog.createRecommended()
      await app.audit(request, {
        action: 'database.recommended_indexes',
        target_type: 'database',
        details: { created }
      })
      return { created, existing }
    }
  )

  await app.register(collectionRoutes, { catalog })
}
