import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withErrors } from '../../schemas/common.js'

// ip:ADDRESS (v4 or v6), user:UUID or key:UUID: the identities the limiter keys by.
const IdentitySchema = Type.String({ pattern: '^(ip:[0-9a-fA-F:.]{2,45}|(user|key):[0-9a-f-]{36})$', description: 'ip:ADDRESS, user:UUID or key:UUID' })

/** Admin view of limiter state (issue 4); the rest of the cache API arrives with the storage API. */
export default async function cacheRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['cache']
  const security = [{ bearerAuth: [] }]

  app.get(
    '/rate-limits/:key',
    { onRequest: [app.authenticate, app.requireRole('admin')], schema: { tags, security, summary: 'Limiter state of one identity (admin)', params: Type.Object({ key: IdentitySchema }), response: withErrors({ 200: Type.Object({ key: Type.String(), mode: Type.String(), penalised: Type.Boolean(), rules: Type.Array(Type.Object({ rule: Type.String(), tat_ahead_ms: Type.Number() })) }) }) } },
    async (request) => {
      const rules = (await app.rateLimit.limiter.inspect(request.params.key, app.rateLimit.ruleNames())).filter((r) => r.tat_ahead_ms > 0)
      const penalised = (await app.stateStore.get(`rl-penalty:${request.params.key}`)) !== null
      return { key: request.params.key, mode: app.rateLimit.limiter.mode, penalised, rules }
    }
  )

  app.delete(
    '/rate-limits/:key',
    { onRequest: [app.authenticate, app.requireRole('admin')], schema: { tags, security, summary: 'Clear limiter state and any escalation of one identity (admin)', params: Type.Object({ key: IdentitySchema }), response: withErrors({ 200: Type.Object({ key: Type.String(), cleared: Type.Integer() }) }) } },
    async (request) => {
      const cleared = await app.rateLimit.limiter.clear(request.params.key, app.rateLimit.ruleNames())
      await app.stateStore.del(`rl-penalty:${request.params.key}`)
      await app.stateStore.del(`rl-violations:${request.params.key}`)
      await app.audit(request, { action: 'cache.rate_limit_cleared', target_type: 'rate_limit', target_id: request.params.key, details: { cleared } })
      return { key: request.params.key, cleared }
    }
  )
}
