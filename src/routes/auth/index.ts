import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { LucidError, validationError } from '../../errors.js'
import { ErrorEnvelopeSchema, withErrors } from '../../schemas/common.js'
import { newTotpSecret, totpQrSvg, totpUri, checkTotp } from '../../crypto/totp.js'
import { isTronAddress } from '../../crypto/tron.js'
import { toUser, UserSchema, WalletTypeSchema, EmailSchema, TronAddressSchema } from '../shared/schema.js'
import type { UserRow } from '../../data/repositories/users.js'
import { clientInfo } from '../shared/request.js'
import { magicErrorPage, magicPage, MAGIC_PAGE_CSP } from './magic-page.js'
import {
  AuthResponseSchema, AuthStatusSchema, ChallengeRequestSchema, ChallengeResponseSchema, LoginSessionListSchema, LogoutRequestSchema,
  MAGIC_TOKEN, MagicLinkSentSchema, MagicQuerySchema, MessageSchema, RefreshRequestSchema, SessionParamsSchema, TotpCodeSchema, TotpSetupSchema
} from './schema.js'

const TotpCode = Type.String({ pattern: '^[0-9]{6}$' })
// One body for both login kinds, so each missing field gets its own clear validation error.
const LoginBodySchema = Type.Object(
  {
    tron_address: Type.Optional(TronAddressSchema),
    signature: Type.Optional(Type.String({ maxLength: 200 })),
    nonce: Type.Optional(Type.String({ maxLength: 128 })),
    wallet_type: Type.Optional(WalletTypeSchema),
    totp_code: Type.Optional(TotpCode),
    email: Type.Optional(EmailSchema)
  },
  { additionalProperties: false, description: 'Wallet login {tron_address, signature, nonce, wallet_type?, totp_code?} or email login {email}' }
)
const VerifyBodySchema = Type.Object(
  {
    email: Type.Optional(EmailSchema),
    code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    token: Type.Optional(Type.String({ minLength: 20, maxLength: 200 })),
    totp_code: Type.Optional(TotpCode)
  },
  { additionalProperties: false, description: '{email, code} or {token} (from the magic link), plus totp_code when enabled' }
)

function tokensBody(result: { access_token: string; refresh_token: string; token_type: 'Bearer'; expires_in: number; user: UserRow }) {
  return { access_token: result.access_token, refresh_token: result.refresh_token, token_type: result.token_type, expires_in: result.expires_in, user: toUser(result.user) }
}

export default async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['auth']
  const service = app.services.auth
  const totpBox = app.services.totpBox
  const authed = { onRequest: [app.authenticate], security: [{ bearerAuth: [] }] }

  app.post('/challenge', { config: { rateLimitRule: 'auth' }, schema: { tags, summary: 'Start a wallet login: get a message to sign (TIP-191)', body: ChallengeRequestSchema, response: withErrors({ 200: ChallengeResponseSchema }) } }, async (request) => {
    if (!isTronAddress(request.body.tron_address)) throw validationError([{ field: 'tron_address', message: 'is not a valid TRON address (base58check, version 0x41)' }])
    return service.challenge(request.body.tron_address)
  })

  app.post(
    '/login',
    { config: { rateLimitRule: 'auth' }, schema: { tags, errors: [401], summary: 'Wallet login (signed challenge) or email login (sends a magic link and code)', body: LoginBodySchema, response: withErrors({ 200: Type.Union([AuthResponseSchema, MagicLinkSentSchema]) }) } },
    async (request) => {
      const b = request.body
      if (b.email !== undefined) {
        const extra = (['tron_address', 'signature', 'nonce', 'wallet_type', 'totp_code'] as const).filter((k) => b[k] !== undefined)
        if (extra.length > 0) throw validationError(extra.map((field) => ({ field, message: 'not allowed with email login' })))
        return service.sendEmailCode(b.email, 'login', clientInfo(request))
      }
      const missing = (['tron_address', 'signature', 'nonce'] as const).filter((k) => b[k] === undefined)
      if (missing.length > 0) throw validationError(missing.map((field) => ({ field, message: 'is required (or give email for an email login)' })))
      if (!isTronAddress(b.tron_address as string)) throw validationError([{ field: 'tron_address', message: 'is not a valid TRON address (base58check, version 0x41)' }])
      const result = await service.walletLogin(b as Required<Pick<typeof b, 'tron_address' | 'signature' | 'nonce'>> & typeof b, clientInfo(request))
      request.log.info({ user_id: result.user.user_id, method: 'wallet' }, 'login succeeded')
      return tokensBody(result)
    }
  )

  app.post('/verify', { config: { rateLimitRule: 'auth' }, schema: { tags, errors: [401, 409], summary: 'Complete an email login with the emailed code or the magic-link token', body: VerifyBodySchema, response: withErrors({ 200: AuthResponseSchema }) } }, async (request) => {
    const b = request.body
    const byCode = b.email !== undefined || b.code !== undefined
    if (byCode && b.token !== undefined) throw validationError([{ field: 'token', message: 'give either {email, code} or {token}' }])
    if (byCode && (b.email === undefined || b.code === undefined)) throw validationError([{ field: b.email === undefined ? 'email' : 'code', message: 'is required' }])
    if (!byCode && b.token === undefined) throw validationError([{ field: 'token', message: 'give {email, code} or {token}' }])
    return tokensBody(await service.verifyEmail(b, clientInfo(request)))
  })

  // Always a page, never JSON (issue 13): a person opened a link from an email.
  const htmlPage = (description: string, envelopeToo = false) => ({
    description,
    content: { 'text/html': { schema: Type.String() }, ...(envelopeToo ? { 'application/json': { schema: Type.Ref(ErrorEnvelopeSchema) } } : {}) }
  })
  app.get('/magic', {
    schema: {
      tags,
      summary: 'Magic-link landing page: a button that completes the login (mail scanners cannot)',
      description: 'Opened from a mail client (no app waiting) the page asks for the emailed code in the app and leaves the link unused; with MAGIC_LINK_RETURN_URL it signs in and sends the tokens there in the URL fragment.',
      querystring: MagicQuerySchema,
      produces: ['text/html'],
      response: withErrors({ 200: Type.String({ description: 'HTML page' }) }),
      documentedResponses: { 400: htmlPage('HTML page: the link is incomplete (cut by the mail client); or the ErrorEnvelope for a request the gateway refuses (Host not allowed)', true), 410: htmlPage('HTML page: the link expired or was used') }
    }
  }, async (request, reply) => {
    reply.header('content-security-policy', MAGIC_PAGE_CSP).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8')
    const token = request.query.token
    if (token === undefined || !MAGIC_TOKEN.test(token)) return reply.code(400).send(magicErrorPage('malformed'))
    if (!(await service.magicLinkUsable(token))) return reply.code(410).send(magicErrorPage('expired'))
    return magicPage(token, app.config.magicLinkReturnUrl)
  })

  app.post('/refresh', { schema: { tags, errors: [401], summary: 'Rotate a refresh token; reuse of a rotated one revokes the login session', body: RefreshRequestSchema, response: withErrors({ 200: AuthResponseSchema }) } }, async (request) =>
    tokensBody(await service.refresh(request.body.refresh_token, clientInfo(request)))
  )

  app.post('/logout', { ...authed, schema: { tags, summary: 'Revoke this login session, or all of them', body: LogoutRequestSchema, bodyOptional: true, response: withErrors({ 200: MessageSchema }) } }, async (request) => {
    const n = await service.logout(request.user!, request.body?.logout_all_sessions === true, clientInfo(request))
    return { message: `Successfully logged out (${n} session${n === 1 ? '' : 's'} revoked)` }
  })

  app.get('/status', { ...authed, schema: { tags, summary: 'Who am I', response: withErrors({ 200: AuthStatusSchema }) } }, async (request) => {
    const user = (await app.repos.users.findById(request.user!.id)) as UserRow
    const session = request.user!.sid !== undefined ? await app.repos.authSessions.findById(request.user!.sid) : null
    return { authenticated: true as const, user: toUser(user), session_id: session?.session_id ?? null, token_expires_at: session?.expires_at.toISOString() ?? null }
  })

  app.get('/sessions', { ...authed, schema: { tags, summary: 'My active login sessions', response: withErrors({ 200: LoginSessionListSchema }) } }, async (request) => {
    const rows = await app.repos.authSessions.listActiveForUser(request.user!.id)
    return {
      sessions: rows.map((s) => ({ session_id: s.session_id, method: s.method, ip: s.ip, user_agent: s.user_agent, created_at: s.created_at.toISOString(), last_used_at: s.last_used_at.toISOString(), expires_at: s.expires_at.toISOString(), current: s.session_id === request.user!.sid }))
    }
  })

  app.delete('/sessions/:session_id', { ...authed, schema: { tags, summary: 'Revoke one of my login sessions', params: SessionParamsSchema, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    const s = await app.repos.authSessions.findById(request.params.session_id)
    if (s === null || s.user_id !== request.user!.id || s.revoked_at !== null) throw new LucidError('NOT_FOUND', 'Login session not found')
    await app.repos.authSessions.revoke(s.session_id, 'revoked_by_user')
    await app.identity.sessionChanged(s.session_id)
    await app.audit(request, { action: 'auth.session_revoked', target_type: 'auth_session', target_id: s.session_id })
    return reply.code(204).send(null)
  })

  app.post('/totp/setup', { ...authed, schema: { tags, errors: [409], summary: 'Start TOTP enrolment: secret, otpauth URI and QR code (SVG)', response: withErrors({ 200: TotpSetupSchema }) } }, async (request) => {
    const user = (await app.repos.users.findById(request.user!.id)) as UserRow
    if (user.totp_enabled) throw new LucidError('ALREADY_EXISTS', 'TOTP is already enabled; disable it first')
    const secret = newTotpSecret()
    await app.repos.users.setTotp(user.user_id, { totp_secret_enc: totpBox.seal(secret, user.user_id), totp_enabled: false, totp_last_step: null })
    const uri = totpUri(secret, user.email ?? user.tron_address ?? user.user_id)
    return { secret, otpauth_uri: uri, qr_svg: await totpQrSvg(uri) }
  })

  app.post('/totp/enable', { ...authed, schema: { tags, errors: [409], summary: 'Turn TOTP on by proving the authenticator works', body: TotpCodeSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const user = (await app.repos.users.findById(request.user!.id)) as UserRow
    if (user.totp_enabled) throw new LucidError('ALREADY_EXISTS', 'TOTP is already enabled')
    if (user.totp_secret_enc === null) throw new LucidError('INVALID_REQUEST', 'Call /auth/totp/setup first', { status: 409 })
    const step = checkTotp(totpBox.open(user.totp_secret_enc, user.user_id).toString(), request.body.code, app.now())
    if (step === null) throw new LucidError('TOTP_INVALID', 'TOTP code is invalid')
    await app.repos.users.setTotp(user.user_id, { totp_enabled: true, totp_last_step: step })
    await app.identity.userChanged(user.user_id)
    await app.audit(request, { action: 'auth.totp_enabled', target_type: 'user', target_id: user.user_id })
    return toUser((await app.repos.users.findById(user.user_id)) as UserRow)
  })

  app.post('/totp/disable', { ...authed, schema: { tags, errors: [409], summary: 'Turn TOTP off (needs a current code)', body: TotpCodeSchema, response: withErrors({ 200: UserSchema }) } }, async (request) => {
    const user = (await app.repos.users.findById(request.user!.id)) as UserRow
    if (!user.totp_enabled) throw new LucidError('INVALID_REQUEST', 'TOTP is not enabled', { status: 409 })
    await service.checkSecondFactor(user, request.body.code, clientInfo(request))
    await app.repos.users.setTotp(user.user_id, { totp_enabled: false, totp_secret_enc: null, totp_last_step: null })
    await app.identity.userChanged(user.user_id)
    await app.audit(request, { action: 'auth.totp_disabled', target_type: 'user', target_id: user.user_id })
    return toUser((await app.repos.users.findById(user.user_id)) as UserRow)
  })
}
