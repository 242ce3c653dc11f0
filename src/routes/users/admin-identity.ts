/**
 * Another user's login sessions and API keys (issue 18, the dashboard's Identity view): admins
 * read them, super_admins revoke them. A revoked session is refused on every instance at once
 * (the identity cache fan-out), exactly as when the user revokes it; every revocation is audited.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { auditReads } from '../shared/audit-reads.js'
import { toAuthSession, deleteSchema } from '../shared/schema.js'
import { assertMayManage } from '../../auth/roles.js'
import { ApiKeyParamsSchema, ApiKeySchema, UserIdParamsSchema } from './schema.js'
import { toApiKey } from './schema.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const LoginSessionSchema = Type.Object({
  session_id: Type.String(),
  method: Type.String(),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' })
})
const UserSessionParams = Type.Object({ ...UserIdParamsSchema.properties, session_id: Type.String({ format: 'uuid' }) })
const UserKeyParams = Type.Object({ ...UserIdParamsSchema.properties, ...ApiKeyParamsSchema.properties })

export default async function adminIdentityRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'users')
  auditReads(app, 'users')
  const security = [{ bearerAuth: [] }]
  const existing = async (id: string) => {
    const user = await app.repos.users.findById(id)
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    return user
  }
  // A revocation on another user's behalf names that user in its audit entry.
  const auditRevoked = (request: FastifyRequest, action: string, type: string, id: string, userId: string) =>
    app.audit(request, { action, target_type: type, target_id: id, details: { user_id: userId } })

  app.get(
    '/:user_id/sessions',
    admin({
      security,
      summary: "A user's active login sessions (admin)",
      params: UserIdParamsSchema,
      response: withErrors({ 200: Type.Object({ sessions: Type.Array(LoginSessionSchema) }) })
    }),
    async (request) => {
      await existing(request.params.user_id)
      return { sessions: (await app.repos.authSessions.listActiveForUser(request.params.user_id)).map(toAuthSession) }
    }
  )

  app.delete(
    '/:user_id/sessions/:session_id',
    superAdmin({
      security,
      ...deleteSchema(
        "Revoke one of a user's login sessions (super_admin); its tokens are refused at once",
        UserSessionParams
      )
    }),
    async (request, reply) => {
      const { user_id: userId, session_id: sessionId } = request.params
      assertMayManage(request.user!, await existing(userId))
      const s = await app.repos.authSessions.findById(sessionId)
      if (s === null || s.user_id !== userId || s.revoked_at !== null) {
        throw new LucidError('NOT_FOUND', 'Login session not found')
      }
      await app.repos.authSessions.revoke(sessionId, 'admin_revoked')
      await app.identity.sessionChanged(sessionId)
      await auditRevoked(request, 'auth.session_revoked', 'auth_session', sessionId, userId)
      return reply.code(204).send(null)
    }
  )

  app.get(
    '/:user_id/api-keys',
    admin({
      security,
      summary: "A user's API keys, never the secret (admin)",
      params: UserIdParamsSchema,
      response: withErrors({ 200: Type.Object({ api_keys: Type.Array(ApiKeySchema) }) })
    }),
    async (request) => {
      await existing(request.params.user_id)
      return { api_keys: (await app.repos.apiKeys.listForUser(request.params.user_id)).map(toApiKey) }
    }
  )

  app.delete(
    '/:user_id/api-keys/:key_id',
    superAdmin({ security, ...deleteSchema("Revoke a user's API key (super_admin)", UserKeyParams) }),
    async (request, reply) => {
      const { user_id: userId, key_id: keyId } = request.params
      assertMayManage(request.user!, await existing(userId))
      if (!(await app.repos.apiKeys.revoke(userId, keyId))) throw new LucidError('NOT_FOUND', 'API key not found')
      await auditRevoked(request, 'auth.api_key_revoked', 'api_key', keyId, userId)
      return reply.code(204).send(null)
    }
  )
}
