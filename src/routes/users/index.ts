import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { pagination, withErrors } from '../../schemas/common.js'
import { requireConfirm } from '../shared/request.js'
import { hashApiKey } from '../../plugins/auth.js'
import { assertMayManage, mayGrant, roleAtLeast } from '../../auth/roles.js'
import type { UserRow, UserUpdate } from '../../data/repositories/users.js'
import type { ApiKeyRow } from '../../data/repositories/api-keys.js'
import type { Role } from '../../crypto/tokens.js'
import { isTronAddress } from '../../crypto/tron.js'
import { clientInfo } from '../shared/request.js'
import { ChallengeResponseSchema, MagicLinkSentSchema } from '../shared/schema.js'
import {
  AdminUpdateUserSchema, ApiKeyCreateSchema, ApiKeyCreatedSchema, ApiKeyParamsSchema, ApiKeySchema, LinkEmailSchema, LinkWalletSchema,
  RoleChangeSchema, UpdateMeSchema, UserIdParamsSchema, UserListQuerySchema, UserListSchema, UserSchema, toUser, TronAddressSchema
} from './schema.js'

const MAX_API_KEYS = 20

export const toApiKey = (k: ApiKeyRow) => ({
  key_id: k.key_id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  created_at: k.created_at.toISOString(),
  expires_at: k.expires_at?.toISOString() ?? null,
  last_used_at: k.last_used_at?.toISOString() ?? null
})

export default async function userRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['users']
  const security = [{ bearerAuth: [] }, { apiKeyAuth: [] }]
  const authed = { onRequest: [app.authenticate], security }
  const adminOnly = { onRequest: [app.authenticate, app.requireRole('admin')], security }

  const isAdmin = (request: FastifyRequest) => roleAtLeast(request.user!.role, 'admin')
  /** Self or admin; anyone else gets 404 so ids cannot be probed (CONTRACT.md section 3). */
  async function visibleUser(request: FastifyRequest, id: string): Promise<UserRow> {
    const user = id === request.user!.id || isAdmin(request) ? await app.repos.users.findById(id) : null
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    return user
  }
  async function update(request: FastifyRequest, id: string, patch: UserUpdate, action: string, details: Record<string, unknown> = { fields: Object.keys(patch) }): Promise<UserRow> {
    const user = await app.repos.users.update(id, patch)
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await app.identity.userChanged(id)
    await app.audit(request, { action, target_type: 'user', target_id: id, details })
    return user
  }
  /** The rule of src/auth/roles.ts: an admin manages users below admin; only a super_admin manages admins. */
  const mayManageOrThrow = (request: FastifyRequest, target: UserRow) => assertMayManage(request.user!, target)

  app.get('/me', { ...authed, schema: { tags, summary: 'My profile', response: withErrors({ 200: UserSchema }) } }, async (request) => toUser(await visibleUser(request, request.user!.id)))

  app.put('/me', { ...authed, schema: { tags, errors: [409], summary: 'Update my profile (email and address change only through proof)', body: UpdateMeSchema, response: withErrors({ 200: UserSchema }) } }, async (request) =>
    toUser(await update(request, request.user!.id, request.body, 'user.updated'))
  )

  app.post('/me/wallet/challenge', { ...authed, schema: { tags, summary: 'Challenge to sign for linking a TRON address', body: Type.Object({ tron_address: TronAddressSchema }, { additionalProperties: false }), response: withErrors({ 200: ChallengeResponseSchema }) } }, async (request) => {
    if (!isTronAddress(request.body.tron_address)) throw new LucidError('INVALID_REQUEST', 'tron_address is not a valid TRON address', { details: { validation_errors: [{ field: 'tron_address', message: 'invalid checksum or version' }] } })
    return app.services.auth.challenge(request.body.tron_address, 'link')
  })

  app.post('/me/wallet', { ...authed, schema: { tags, errors: [409], summary: 'Link a TRON address proven by a signed link challenge', body: LinkWalletSchema, response: withErrors({ 200: UserSchema }) } }, async (request) =>
    toUser(await app.services.auth.linkWallet(request.user!.id, request.body, clientInfo(request)))
  )

  // The same answer whether or not another account has the address (issue 12 finding 9): the
  // address then gets a notice instead of a code, so only its owner learns that it is taken.
  app.post('/me/email', { ...authed, schema: { tags, summary: 'Link an email: sends a magic link that completes it (the answer never says whether the address is taken)', body: LinkEmailSchema, response: withErrors({ 200: MagicLinkSentSchema }) } }, async (request) => {
    const other = await app.repos.users.findByEmail(request.body.email)
    if (other !== null && other.user_id !== request.user!.id) {
      return app.services.auth.sendLinkNotice(request.body.email, clientInfo(request), request.user!.id)
    }
    return app.services.auth.sendEmailCode(request.body.email, 'link', clientInfo(request), request.user!.id)
  })

  app.get('/me/api-keys', { ...authed, schema: { tags, summary: 'My API keys (never the secret)', response: withErrors({ 200: Type.Object({ api_keys: Type.Array(ApiKeySchema) }) }) } }, async (request) => ({
    api_keys: (await app.repos.apiKeys.listForUser(request.user!.id)).map(toApiKey)
  }))

  app.post('/me/api-keys', { ...authed, schema: { tags, errors: [403, 409], summary: 'Create an API key (shown once), role no higher than mine', body: ApiKeyCreateSchema, response: withErrors({ 201: ApiKeyCreatedSchema }) } }, async (request, reply) => {
    const role: Role = request.body.role ?? request.user!.role
    if (!roleAtLeast(request.user!.role, role)) throw new LucidError('FORBIDDEN', 'An API key cannot have a higher role than its owner')
    if ((await app.repos.apiKeys.countActive(request.user!.id)) >= MAX_API_KEYS) throw new LucidError('INVALID_REQUEST', `At most ${MAX_API_KEYS} active API keys`, { status: 409 })
    const secret = `lucid_${randomBytes(32).toString('base64url')}`
    const row = await app.repos.apiKeys.create({
      key_id: randomUUID(),
      user_id: request.user!.id,
      name: request.body.name,
      prefix: secret.slice(0, 12),
      key_hash: hashApiKey(secret),
      role,
      expires_at: request.body.expires_in_days !== undefined ? new Date(app.now() + request.body.expires_in_days * 86_400_000) : null
    })
    await app.audit(request, { action: 'auth.api_key_created', target_type: 'api_key', target_id: row.key_id, details: { role, name: row.name } })
    return reply.code(201).send({ ...toApiKey(row), key: secret })
  })

  app.delete('/me/api-keys/:key_id', { ...authed, schema: { tags, summary: 'Revoke one of my API keys', params: ApiKeyParamsSchema, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    if (!(await app.repos.apiKeys.revoke(request.user!.id, request.params.key_id))) throw new LucidError('NOT_FOUND', 'API key not found')
    await app.audit(request, { action: 'auth.api_key_revoked', target_type: 'api_key', target_id: request.params.key_id })
    return reply.code(204).send(null)
  })

  app.get('/', { ...adminOnly, schema: { tags, summary: 'List users (admin)', querystring: UserListQuerySchema, response: withErrors({ 200: UserListSchema }) } }, async (request) => {
    const { page, limit, role, status, q } = request.query
    const { rows, total } = await app.repos.users.list({ page, limit, role, status, q })
    return { users: rows.map(toUser), pagination: pagination(page, limit, total) }
  })

  app.get('/:user_id', { ...authed, schema: { tags, summary: 'A user (self or admin)', params: UserIdParamsSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => toUser(await visibleUser(request, request.params.user_id)))

  app.put('/:user_id', { ...adminOnly, schema: { tags, errors: [409], summary: 'Update a user, suspend or reactivate (admin)', params: UserIdParamsSchema, body: AdminUpdateUserSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const target = await visibleUser(request, request.params.user_id)
    mayManageOrThrow(request, target)
    const user = await update(request, target.user_id, request.body, 'user.admin_updated')
    if (request.body.status === 'suspended') await revokeEverything(request, target.user_id, 'suspended')
    return toUser(user)
  })

  app.patch('/:user_id/role', { ...adminOnly, schema: { tags, summary: 'Change a role (admin; only a super_admin grants admin or super_admin)', params: UserIdParamsSchema, body: RoleChangeSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const target = await visibleUser(request, request.params.user_id)
    mayManageOrThrow(request, target)
    if (!mayGrant(request.user!, request.body.role)) {
      throw new LucidError('FORBIDDEN', 'Only a super_admin can grant admin or super_admin')
    }
    const user = await update(request, target.user_id, { role: request.body.role }, 'user.role_changed', { from: target.role, to: request.body.role })
    return toUser(user)
  })

  app.delete('/:user_id', { ...authed, schema: { tags, errors: [403], summary: 'Soft-delete a user (self or admin); revokes every session and key', params: UserIdParamsSchema, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    const target = await visibleUser(request, request.params.user_id)
    mayManageOrThrow(request, target)
    await update(request, target.user_id, { status: 'deleted' }, 'user.deleted')
    await revokeEverything(request, target.user_id, 'user_deleted')
    return reply.code(204).send(null)
  })

  app.post('/:user_id/purge', {
    onRequest: [app.authenticate, app.requireRole('super_admin')],
    schema: { tags, summary: 'Erase a user and all their data on request (privacy; super_admin, confirm=true). Leaves only an audit entry', params: UserIdParamsSchema, querystring: Type.Object({ confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), response: withErrors({ 200: Type.Object({ user_id: Type.String(), sessions: Type.Integer(), chunks: Type.Integer() }) }) }
  }, async (request) => {
    requireConfirm(request)
    const target = await app.repos.users.findById(request.params.user_id)
    if (target === null) throw new LucidError('NOT_FOUND', 'User not found')
    if (target.user_id === request.user!.id) throw new LucidError('INVALID_REQUEST', 'A super_admin cannot purge their own account')
    const { sessionIds: sessions, chunks } = await app.repos.sessions.holdingsOfUser(target.user_id)
    // Rows first (one statement, cascading to sessions, chunks, manifests, login sessions, keys,
    // policies); then the files, which the volume cleanup would also find as orphans.
    await app.db.transaction(async (tx) => {
      await app.repos.users.deleteById(target.user_id, tx)
      await app.repos.audit.append({ actor_id: request.user!.id, actor_role: request.user!.role, ip: request.ip, request_id: request.id, action: 'user.purged', target_type: 'user', target_id: target.user_id, details: { sessions: sessions.length, chunks } }, tx)
    })
    for (const id of sessions) await app.services.chunkStore.removeSession(id).catch((err: Error) => request.log.warn({ err, session_id: id }, 'chunk files left for the volume cleanup'))
    await app.identity.userChanged(target.user_id)
    return { user_id: target.user_id, sessions: sessions.length, chunks }
  })

  app.post('/:user_id/restore', { ...adminOnly, schema: { tags, summary: 'Restore a soft-deleted or suspended user (admin)', params: UserIdParamsSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const target = await visibleUser(request, request.params.user_id)
    mayManageOrThrow(request, target)
    return toUser(await update(request, target.user_id, { status: 'active' }, 'user.restored'))
  })

  app.post('/:user_id/unlock', { ...adminOnly, schema: { tags, summary: 'Clear a TOTP lockout (admin)', params: UserIdParamsSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const target = await visibleUser(request, request.params.user_id)
    mayManageOrThrow(request, target)
    const user = (await app.repos.users.unlock(target.user_id)) as UserRow
    await app.identity.userChanged(target.user_id)
    await app.audit(request, { action: 'user.unlocked', target_type: 'user', target_id: target.user_id })
    return toUser(user)
  })

  async function revokeEverything(request: FastifyRequest, userId: string, reason: string): Promise<void> {
    const ids = await app.repos.authSessions.revokeAllForUser(userId, reason)
    await app.repos.apiKeys.revokeAllForUser(userId)
    for (const id of ids) await app.identity.sessionChanged(id)
    await app.audit(request, { action: 'auth.sessions_revoked', target_type: 'user', target_id: userId, details: { reason, sessions: ids.length } })
  }
}
