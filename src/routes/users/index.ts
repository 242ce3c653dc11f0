import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { pagination, withErrors } from '../../schemas/common.js'
import { requireConfirm } from '../shared/request.js'
import { ConfirmQuerySchema, deleteSchema } from '../shared/schema.js'
import { routeGroup } from '../shared/route.js'
import { assertMayManage, mayGrant } from '../../auth/roles.js'
import type { UserRow } from '../../data/repositories/users.js'
import {
  AdminUpdateUserSchema,
  RoleChangeSchema,
  UserIdParamsSchema,
  UserListQuerySchema,
  UserListSchema,
  UserSchema,
  toUser
} from './schema.js'
import { userAccess } from './access.js'
import meRoutes from './me.js'

export default async function userRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed, admin, superAdmin } = routeGroup(fastify, 'users')

  const { visibleUser, update } = userAccess(app)
  /**
   * The user of the path, if the caller may manage them (the rule of src/auth/roles.ts: an admin
   * manages users below admin; only a super_admin manages admins).
   */
  const manageableUser = async (request: FastifyRequest, userId: string) => {
    const target = await visibleUser(request, userId)
    assertMayManage(request.user!, target)
    return target
  }
  // A route on one user that answers with the user.
  const oneUser = { params: UserIdParamsSchema, response: withErrors({ 200: UserSchema }) }

  await app.register(meRoutes)

  app.get(
    '/',
    admin({
      summary: 'List users (admin)',
      querystring: UserListQuerySchema,
      response: withErrors({ 200: UserListSchema })
    }),
    async (request) => {
      const { page, limit, role, status, q } = request.query
      const { rows, total } = await app.repos.users.list({ page, limit, role, status, q })
      return { users: rows.map(toUser), pagination: pagination(page, limit, total) }
    }
  )

  app.get(
    '/:user_id',
    authed({
      summary: 'A user (self or admin)',
      ...oneUser
    }),
    async (request) => toUser(await visibleUser(request, request.params.user_id))
  )

  app.put(
    '/:user_id',
    admin({
      errors: [409],
      summary: 'Update a user, suspend or reactivate (admin)',
      ...oneUser,
      body: AdminUpdateUserSchema
    }),
    async (request) => {
      const target = await manageableUser(request, request.params.user_id)
      const user = await update(request, target.user_id, request.body, 'user.admin_updated')
      if (request.body.status === 'suspended') await revokeEverything(request, target.user_id, 'suspended')
      return toUser(user)
    }
  )

  app.patch(
    '/:user_id/role',
    admin({
      summary: 'Change a role (admin; only a super_admin grants admin or super_admin)',
      ...oneUser,
      body: RoleChangeSchema
    }),
    async (request) => {
      const target = await manageableUser(request, request.params.user_id)
      if (!mayGrant(request.user!, request.body.role)) {
        throw new LucidError('FORBIDDEN', 'Only a super_admin can grant admin or super_admin')
      }
      const user = await update(request, target.user_id, { role: request.body.role }, 'user.role_changed', {
        from: target.role,
        to: request.body.role
      })
      return toUser(user)
    }
  )

  app.delete(
    '/:user_id',
    authed({
      errors: [403],
      ...deleteSchema('Soft-delete a user (self or admin); revokes every session and key', UserIdParamsSchema)
    }),
    async (request, reply) => {
      const target = await manageableUser(request, request.params.user_id)
      await update(request, target.user_id, { status: 'deleted' }, 'user.deleted')
      await revokeEverything(request, target.user_id, 'user_deleted')
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/:user_id/purge',
    superAdmin({
      summary:
        'Erase a user and all their data on request (privacy; super_admin, confirm=true). Leaves only an audit entry',
      params: UserIdParamsSchema,
      querystring: ConfirmQuerySchema,
      response: withErrors({
        200: Type.Object({ user_id: Type.String(), sessions: Type.Integer(), chunks: Type.Integer() })
      })
    }),
    async (request) => {
      requireConfirm(request)
      const target = await app.repos.users.findById(request.params.user_id)
      if (target === null) throw new LucidError('NOT_FOUND', 'User not found')
      if (target.user_id === request.user!.id)
        throw new LucidError('INVALID_REQUEST', 'A super_admin cannot purge their own account')
      return app.services.users.purge(target.user_id, {
        actor_id: request.user!.id,
        actor_role: request.user!.role,
        ip: request.ip,
        request_id: request.id,
        action: 'user.purged',
        target_type: 'user',
        target_id: target.user_id
      })
    }
  )

  app.post(
    '/:user_id/restore',
    admin({
      summary: 'Restore a soft-deleted or suspended user (admin)',
      ...oneUser
    }),
    async (request) => {
      const target = await manageableUser(request, request.params.user_id)
      return toUser(await update(request, target.user_id, { status: 'active' }, 'user.restored'))
    }
  )

  app.post(
    '/:user_id/unlock',
    admin({
      summary: 'Clear a TOTP lockout (admin)',
      ...oneUser
    }),
    async (request) => {
      const target = await manageableUser(request, request.params.user_id)
      const user = (await app.repos.users.unlock(target.user_id)) as UserRow
      await app.identity.userChanged(target.user_id)
      await app.audit(request, { action: 'user.unlocked', target_type: 'user', target_id: target.user_id })
      return toUser(user)
    }
  )

  async function revokeEverything(request: FastifyRequest, userId: string, reason: string): Promise<void> {
    const ids = await app.repos.authSessions.revokeAllForUser(userId, reason)
    await app.repos.apiKeys.revokeAllForUser(userId)
    for (const id of ids) await app.identity.sessionChanged(id)
    await app.audit(request, {
      action: 'auth.sessions_revoked',
      target_type: 'user',
      target_id: userId,
      details: { reason, sessions: ids.length }
    })
  }
}
