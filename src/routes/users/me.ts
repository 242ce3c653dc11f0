import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { hashApiKey, newApiKey } from '../../auth/api-keys.js'
import { roleAtLeast } from '../../auth/roles.js'
import type { Role } from '../../crypto/tokens.js'
import { isTronAddress } from '../../crypto/tron.js'
import { clientInfo } from '../shared/request.js'
import { ChallengeResponseSchema, MagicLinkSentSchema, deleteSchema } from '../shared/schema.js'
import {
  ApiKeyCreateSchema,
  ApiKeyCreatedSchema,
  ApiKeyParamsSchema,
  ApiKeySchema,
  LinkEmailSchema,
  LinkWalletSchema,
  UpdateMeSchema,
  UserSchema,
  toApiKey,
  toUser,
  TronAddressSchema
} from './schema.js'
import { userAccess } from './access.js'

const MAX_API_KEYS = 20

/** /api/v1/users/me…: my profile, linked wallet and email, my API keys. */
export default async function meRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'users')
  const { visibleUser, update } = userAccess(app)

  app.get('/me', authed({ summary: 'My profile', response: withErrors({ 200: UserSchema }) }), async (request) =>
    toUser(await visibleUser(request, request.user!.id))
  )

  app.put(
    '/me',
    authed({
      errors: [409],
      summary: 'Update my profile (email and address change only through proof)',
      body: UpdateMeSchema,
      response: withErrors({ 200: UserSchema })
    }),
    async (request) => toUser(await update(request, request.user!.id, request.body, 'user.updated'))
  )

  app.post(
    '/me/wallet/challenge',
    authed({
      summary: 'Challenge to sign for linking a TRON address',
      body: Type.Object({ tron_address: TronAddressSchema }, { additionalProperties: false }),
      response: withErrors({ 200: ChallengeResponseSchema })
    }),
    async (request) => {
      if (!isTronAddress(request.body.tron_address))
        throw new LucidError('INVALID_REQUEST', 'tron_address is not a valid TRON address', {
          details: { validation_errors: [{ field: 'tron_address', message: 'invalid checksum or version' }] }
        })
      return app.services.auth.challenge(request.body.tron_address, 'link')
    }
  )

  app.post(
    '/me/wallet',
    authed({
      errors: [409],
      summary: 'Link a TRON address proven by a signed link challenge',
      body: LinkWalletSchema,
      response: withErrors({ 200: UserSchema })
    }),
    async (request) => toUser(await app.services.auth.linkWallet(request.user!.id, request.body, clientInfo(request)))
  )

  // The same answer whether or not another account has the address (issue 12 finding 9): the
  // address then gets a notice instead of a code, so only its owner learns that it is taken.
  app.post(
    '/me/email',
    authed({
      summary:
        'Link an email: sends a magic link that completes it (the answer never says whether the address is taken)',
      body: LinkEmailSchema,
      response: withErrors({ 200: MagicLinkSentSchema })
    }),
    async (request) => {
      const other = await app.repos.users.findByEmail(request.body.email)
      if (other !== null && other.user_id !== request.user!.id) {
        return app.services.auth.sendLinkNotice(request.body.email, clientInfo(request), request.user!.id)
      }
      return app.services.auth.sendEmailCode(request.body.email, 'link', clientInfo(request), request.user!.id)
    }
  )

  app.get(
    '/me/api-keys',
    authed({
      summary: 'My API keys (never the secret)',
      response: withErrors({ 200: Type.Object({ api_keys: Type.Array(ApiKeySchema) }) })
    }),
    async (request) => ({
      api_keys: (await app.repos.apiKeys.listForUser(request.user!.id)).map(toApiKey)
    })
  )

  app.post(
    '/me/api-keys',
    authed({
      errors: [403, 409],
      summary: 'Create an API key (shown once), role no higher than mine',
      body: ApiKeyCreateSchema,
      response: withErrors({ 201: ApiKeyCreatedSchema })
    }),
    async (request, reply) => {
      const role: Role = request.body.role ?? request.user!.role
      if (!roleAtLeast(request.user!.role, role))
        throw new LucidError('FORBIDDEN', 'An API key cannot have a higher role than its owner')
      if ((await app.repos.apiKeys.countActive(request.user!.id)) >= MAX_API_KEYS)
        throw new LucidError('INVALID_REQUEST', `At most ${MAX_API_KEYS} active API keys`, { status: 409 })
      const secret = newApiKey()
      const row = await app.repos.apiKeys.create({
        key_id: randomUUID(),
        user_id: request.user!.id,
        name: request.body.name,
        prefix: secret.slice(0, 12),
        key_hash: hashApiKey(secret),
        role,
        expires_at:
          request.body.expires_in_days !== undefined
            ? new Date(app.now() + request.body.expires_in_days * 86_400_000)
            : null
      })
      await app.audit(request, {
        action: 'auth.api_key_created',
        target_type: 'api_key',
        target_id: row.key_id,
        details: { role, name: row.name }
      })
      return reply.code(201).send({ ...toApiKey(row), key: secret })
    }
  )

  app.delete(
    '/me/api-keys/:key_id',
    authed(deleteSchema('Revoke one of my API keys', ApiKeyParamsSchema)),
    async (request, reply) => {
      if (!(await app.repos.apiKeys.revoke(request.user!.id, request.params.key_id)))
        throw new LucidError('NOT_FOUND', 'API key not found')
      await app.audit(request, {
        action: 'auth.api_key_revoked',
        target_type: 'api_key',
        target_id: request.params.key_id
      })
      return reply.code(204).send(null)
    }
  )
}
