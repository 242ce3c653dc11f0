import type { FastifyInstance } from 'fastify'
import { pagination, withErrors } from '../../schemas/common.js'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { deleteSchema } from '../shared/schema.js'
import { auditReads } from '../shared/audit-reads.js'
import { assertMayManage } from '../../auth/roles.js'
import {
  CacheMemorySchema,
  CacheStatsSchema,
  IdentitiesQuerystring,
  IdentitiesSchema,
  IdentityParams,
  LimiterClearedSchema,
  LimiterStateSchema,
  SessionParams,
  SessionsPageSchema,
  SessionsQuerystring
} from './schema.js'
import keyRoutes from './keys.js'

/**
 * /api/v1/cache: the state store for admins (issue 4 limiter view, issue 7 cache API). Admins read;
 * every write is super_admin's. Security keys (protected-keys.ts) are listed without their values
 * and GET of one is 403/2004 for everyone, super_admins included (issue 12 finding 1). The keys
 * themselves are keys.ts; the read audit below is set before it is registered, so it covers them.
 */
export default async function cacheRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'cache')
  // Every read names what it read: the key, the identity or the pattern.
  auditReads(app, 'cache', [], (request) => {
    const params = request.params as { key?: string }
    const query = request.query as { pattern?: string }
    const route = request.routeOptions.url ?? 'cache'
    const type = route.includes('rate-limits') ? 'rate_limit' : 'cache_key'
    if (params.key !== undefined) return { target_type: type, target_id: params.key }
    if (query?.pattern === undefined) return null
    return { target_type: 'cache', target_id: route, details: { pattern: query.pattern } }
  })
  const security = [{ bearerAuth: [] }]

  app.get(
    '/rate-limits/:key',
    admin({
      security,
      summary: 'Limiter state of one identity (admin)',
      params: IdentityParams,
      response: withErrors({ 200: LimiterStateSchema })
    }),
    async (request) => {
      const rules = (await app.rateLimit.limiter.inspect(request.params.key, app.rateLimit.ruleNames())).filter(
        (r) => r.tat_ahead_ms > 0
      )
      const penalised = (await app.stateStore.get(`rl-penalty:${request.params.key}`)) !== null
      return { key: request.params.key, mode: app.rateLimit.limiter.mode, penalised, rules }
    }
  )

  app.delete(
    '/rate-limits/:key',
    superAdmin({
      security,
      summary: 'Clear limiter state and any escalation of one identity (super_admin)',
      params: IdentityParams,
      response: withErrors({ 200: LimiterClearedSchema })
    }),
    async (request) => {
      const cleared = await app.rateLimit.limiter.clear(request.params.key, app.rateLimit.ruleNames())
      await app.stateStore.del(`rl-penalty:${request.params.key}`)
      await app.stateStore.del(`rl-violations:${request.params.key}`)
      await app.audit(request, {
        action: 'cache.rate_limit_cleared',
        target_type: 'rate_limit',
        target_id: request.params.key,
        details: { cleared }
      })
      return { key: request.params.key, cleared }
    }
  )

  app.get(
    '/stats',
    admin({
      security,
      summary: 'Store statistics: keys, memory, clients, hit rate',
      response: withErrors({ 200: CacheStatsSchema })
    }),
    async () => ({
      ...(await app.stateStore.stats()),
      key_prefix: app.stateStore.kind === 'redis' ? app.config.stateKeyPrefix : null
    })
  )

  app.get(
    '/memory',
    admin({
      security,
      summary: 'Memory use and the key count per namespace (sampled, at most 10,000 keys)',
      response: withErrors({ 200: CacheMemorySchema })
    }),
    async () => {
      const stats = await app.stateStore.stats()
      const namespaces: Record<string, number> = {}
      let cursor = '0'
      let seen = 0
      do {
        const page = await app.stateStore.scan('*', cursor, 500)
        for (const k of page.keys) {
          const ns = k.split(/[:{]/, 1)[0]
          namespaces[ns] = (namespaces[ns] ?? 0) + 1
        }
        seen += page.keys.length
        cursor = page.cursor
      } while (cursor !== '0' && seen < 10_000)
      return {
        used_bytes: stats.memory_bytes,
        peak_bytes: stats.peak_memory_bytes,
        max_bytes: stats.max_memory_bytes,
        evicted_keys: stats.evicted_keys,
        sampled_keys: seen,
        complete: cursor === '0',
        namespaces
      }
    }
  )

  await app.register(keyRoutes)

  app.get(
    '/sessions',
    admin({
      security,
      summary: 'Active login sessions',
      querystring: SessionsQuerystring,
      response: withErrors({ 200: SessionsPageSchema })
    }),
    async (request) => {
      const { page, limit, user_id: userId } = request.query
      const { rows, total } = await app.repos.authSessions.listActive({ now: new Date(app.now()), userId, page, limit })
      const iso = (d: Date) => d.toISOString()
      const sessions = rows.map((r) => ({
        ...r,
        created_at: iso(r.created_at),
        expires_at: iso(r.expires_at),
        last_used_at: iso(r.last_used_at)
      }))
      return { sessions, pagination: pagination(page, limit, total) }
    }
  )

  app.delete(
    '/sessions/:session_id',
    superAdmin({ security, ...deleteSchema('Revoke a login session (super_admin)', SessionParams) }),
    async (request, reply) => {
      const session = await app.repos.authSessions.findById(request.params.session_id)
      const owner = session === null ? null : await app.repos.users.findById(session.user_id)
      if (owner !== null) assertMayManage(request.user!, owner)
      if (!(await app.repos.authSessions.revoke(request.params.session_id, 'admin_revoked')))
        throw new LucidError('NOT_FOUND', 'Login session not found or already revoked')
      await app.identity.sessionChanged(request.params.session_id)
      await app.audit(request, {
        action: 'auth.session_revoked',
        target_type: 'auth_session',
        target_id: request.params.session_id,
        details: { via: 'cache_api' }
      })
      return reply.code(204).send(null)
    }
  )

  app.get(
    '/rate-limits',
    admin({
      security,
      summary: 'Identities with limiter state (at most 1,000)',
      querystring: IdentitiesQuerystring,
      response: withErrors({ 200: IdentitiesSchema })
    }),
    async (request) => ({
      identities: await app.rateLimit.limiter.identities(request.query.limit),
      mode: app.rateLimit.limiter.mode
    })
  )
}
