import type { FastifyInstance } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { toAuthSession, toUser, deleteSchema } from '../shared/schema.js'
import type { UserRow } from '../../data/repositories/users.js'
import { clientInfo } from '../shared/request.js'
import {
  AuthResponseSchema,
  AuthStatusSchema,
  LoginSessionListSchema,
  LogoutRequestSchema,
  MessageSchema,
  RefreshRequestSchema,
  SessionParamsSchema,
  tokensBody
} from './schema.js'
import loginRoutes from './login.js'
import totpRoutes from './totp.js'

/**
 * /api/v1/auth: the login flows (login.ts), then the tokens and login sessions they give (here),
 * then TOTP (totp.ts). Registered in this order so the OpenAPI document lists them so.
 */
export default async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, open, authed } = routeGroup(fastify, 'auth')
  const service = app.services.auth

  await app.register(loginRoutes)

  app.post(
    '/refresh',
    open({
      errors: [401],
      summary: 'Rotate a refresh token; reuse of a rotated one revokes the login session',
      body: RefreshRequestSchema,
      response: withErrors({ 200: AuthResponseSchema })
    }),
    async (request) => tokensBody(await service.refresh(request.body.refresh_token, clientInfo(request)))
  )

  app.post(
    '/logout',
    authed({
      summary: 'Revoke this login session, or all of them',
      body: LogoutRequestSchema,
      bodyOptional: true,
      response: withErrors({ 200: MessageSchema })
    }),
    async (request) => {
      const n = await service.logout(request.user!, request.body?.logout_all_sessions === true, clientInfo(request))
      return { message: `Successfully logged out (${n} session${n === 1 ? '' : 's'} revoked)` }
    }
  )

  app.get(
    '/status',
    authed({ summary: 'Who am I', response: withErrors({ 200: AuthStatusSchema }) }),
    async (request) => {
      const user = (await app.repos.users.findById(request.user!.id)) as UserRow
      const session = request.user!.sid !== undefined ? await app.repos.authSessions.findById(request.user!.sid) : null
      return {
        authenticated: true as const,
        user: toUser(user),
        session_id: session?.session_id ?? null,
        token_expires_at: session?.expires_at.toISOString() ?? null
      }
    }
  )

  app.get(
    '/sessions',
    authed({ summary: 'My active login sessions', response: withErrors({ 200: LoginSessionListSchema }) }),
    async (request) => {
      const rows = await app.repos.authSessions.listActiveForUser(request.user!.id)
      return {
        sessions: rows.map((s) => ({ ...toAuthSession(s), current: s.session_id === request.user!.sid }))
      }
    }
  )

  app.delete(
    '/sessions/:session_id',
    authed(deleteSchema('Revoke one of my login sessions', SessionParamsSchema)),
    async (request, reply) => {
      const s = await app.repos.authSessions.findById(request.params.session_id)
      if (s === null || s.user_id !== request.user!.id || s.revoked_at !== null)
        throw new LucidError('NOT_FOUND', 'Login session not found')
      await app.repos.authSessions.revoke(s.session_id, 'revoked_by_user')
      await app.identity.sessionChanged(s.session_id)
      await app.audit(request, { action: 'auth.session_revoked', target_type: 'auth_session', target_id: s.session_id })
      return reply.code(204).send(null)
    }
  )

  await app.register(totpRoutes)
}
