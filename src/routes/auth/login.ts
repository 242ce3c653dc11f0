import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { validationError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { isTronAddress } from '../../crypto/tron.js'
import { clientInfo } from '../shared/request.js'
import { magicErrorPage, magicPage, MAGIC_PAGE_CSP } from './magic-page.js'
import {
  AuthResponseSchema,
  ChallengeRequestSchema,
  ChallengeResponseSchema,
  LoginBodySchema,
  MAGIC_TOKEN,
  MagicLinkSentSchema,
  MagicQuerySchema,
  VerifyBodySchema,
  htmlPage,
  tokensBody
} from './schema.js'

/** /api/v1/auth: the login flows, by wallet (signed TIP-191 challenge) or by email (code or magic link). */
export default async function loginRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, open } = routeGroup(fastify, 'auth')
  const service = app.services.auth
  const authRule = { config: { rateLimitRule: 'auth' } }

  app.post(
    '/challenge',
    open(
      {
        summary: 'Start a wallet login: get a message to sign (TIP-191)',
        body: ChallengeRequestSchema,
        response: withErrors({ 200: ChallengeResponseSchema })
      },
      authRule
    ),
    async (request) => {
      if (!isTronAddress(request.body.tron_address))
        throw validationError([
          { field: 'tron_address', message: 'is not a valid TRON address (base58check, version 0x41)' }
        ])
      return service.challenge(request.body.tron_address)
    }
  )

  app.post(
    '/login',
    open(
      {
        errors: [401],
        summary: 'Wallet login (signed challenge) or email login (sends a magic link and code)',
        body: LoginBodySchema,
        response: withErrors({ 200: Type.Union([AuthResponseSchema, MagicLinkSentSchema]) })
      },
      authRule
    ),
    async (request) => {
      const b = request.body
      if (b.email !== undefined) {
        const extra = (['tron_address', 'signature', 'nonce', 'wallet_type', 'totp_code'] as const).filter(
          (k) => b[k] !== undefined
        )
        if (extra.length > 0)
          throw validationError(extra.map((field) => ({ field, message: 'not allowed with email login' })))
        return service.sendEmailCode(b.email, 'login', clientInfo(request))
      }
      const missing = (['tron_address', 'signature', 'nonce'] as const).filter((k) => b[k] === undefined)
      if (missing.length > 0)
        throw validationError(
          missing.map((field) => ({ field, message: 'is required (or give email for an email login)' }))
        )
      if (!isTronAddress(b.tron_address as string))
        throw validationError([
          { field: 'tron_address', message: 'is not a valid TRON address (base58check, version 0x41)' }
        ])
      const result = await service.walletLogin(
        b as Required<Pick<typeof b, 'tron_address' | 'signature' | 'nonce'>> & typeof b,
        clientInfo(request)
      )
      request.log.info({ user_id: result.user.user_id, method: 'wallet' }, 'login succeeded')
      return tokensBody(result)
    }
  )

  app.post(
    '/verify',
    open(
      {
        errors: [401, 409],
        summary: 'Complete an email login with the emailed code or the magic-link token',
        body: VerifyBodySchema,
        response: withErrors({ 200: AuthResponseSchema })
      },
      authRule
    ),
    async (request) => {
      const b = request.body
      const byCode = b.email !== undefined || b.code !== undefined
      if (byCode && b.token !== undefined)
        throw validationError([{ field: 'token', message: 'give either {email, code} or {token}' }])
      if (byCode && (b.email === undefined || b.code === undefined))
        throw validationError([{ field: b.email === undefined ? 'email' : 'code', message: 'is required' }])
      if (!byCode && b.token === undefined)
        throw validationError([{ field: 'token', message: 'give {email, code} or {token}' }])
      return tokensBody(await service.verifyEmail(b, clientInfo(request)))
    }
  )

  app.get(
    '/magic',
    open({
      summary: 'Magic-link landing page: a button that completes the login (mail scanners cannot)',
      description:
        'Opened from a mail client (no app waiting) the page asks for the emailed code in the app and leaves the link unused; with MAGIC_LINK_RETURN_URL it signs in and sends the tokens there in the URL fragment.',
      querystring: MagicQuerySchema,
      produces: ['text/html'],
      response: withErrors({ 200: Type.String({ description: 'HTML page' }) }),
      documentedResponses: {
        400: htmlPage(
          'HTML page: the link is incomplete (cut by the mail client); or the ErrorEnvelope for a request the gateway refuses (Host not allowed)',
          true
        ),
        410: htmlPage('HTML page: the link expired or was used')
      }
    }),
    async (request, reply) => {
      reply
        .header('content-security-policy', MAGIC_PAGE_CSP)
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .type('text/html; charset=utf-8')
      const token = request.query.token
      if (token === undefined || !MAGIC_TOKEN.test(token)) return reply.code(400).send(magicErrorPage('malformed'))
      if (!(await service.magicLinkUsable(token))) return reply.code(410).send(magicErrorPage('expired'))
      return magicPage(token, app.config.magicLinkReturnUrl)
    }
  )
}
