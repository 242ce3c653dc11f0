import type { FastifyInstance, FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { newTotpSecret, totpQrSvg, totpUri, checkTotp } from '../../crypto/totp.js'
import { toUser, UserSchema } from '../shared/schema.js'
import type { UserRow } from '../../data/repositories/users.js'
import { clientInfo } from '../shared/request.js'
import { TotpCodeSchema, TotpSetupSchema } from './schema.js'

/** /api/v1/auth/totp/…: enrolling and removing the second factor of the signed-in user. */
export default async function totpRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'auth')
  const service = app.services.auth
  const totpBox = app.services.totpBox
  const me = async (request: FastifyRequest) => (await app.repos.users.findById(request.user!.id)) as UserRow
  // Enabling and disabling: a current code in, the updated user out.
  const withCode = { errors: [409], body: TotpCodeSchema, response: withErrors({ 200: UserSchema }) }

  /** Stores the change, tells the identity cache, audits it and answers with the updated user. */
  async function switchTotp(
    request: FastifyRequest,
    user: UserRow,
    fields: Parameters<typeof app.repos.users.setTotp>[1],
    action: string
  ) {
    await app.repos.users.setTotp(user.user_id, fields)
    await app.identity.userChanged(user.user_id)
    await app.audit(request, { action, target_type: 'user', target_id: user.user_id })
    return toUser(await me(request))
  }

  app.post(
    '/totp/setup',
    authed({
      errors: [409],
      summary: 'Start TOTP enrolment: secret, otpauth URI and QR code (SVG)',
      response: withErrors({ 200: TotpSetupSchema })
    }),
    async (request) => {
      const user = await me(request)
      if (user.totp_enabled) throw new LucidError('ALREADY_EXISTS', 'TOTP is already enabled; disable it first')
      const secret = newTotpSecret()
      await app.repos.users.setTotp(user.user_id, {
        totp_secret_enc: totpBox.seal(secret, user.user_id),
        totp_enabled: false,
        totp_last_step: null
      })
      const uri = totpUri(secret, user.email ?? user.tron_address ?? user.user_id)
      return { secret, otpauth_uri: uri, qr_svg: await totpQrSvg(uri) }
    }
  )

  app.post(
    '/totp/enable',
    authed({
      ...withCode,
      summary: 'Turn TOTP on by proving the authenticator works'
    }),
    async (request) => {
      const user = await me(request)
      if (user.totp_enabled) throw new LucidError('ALREADY_EXISTS', 'TOTP is already enabled')
      if (user.totp_secret_enc === null)
        throw new LucidError('INVALID_REQUEST', 'Call /auth/totp/setup first', { status: 409 })
      const step = checkTotp(totpBox.open(user.totp_secret_enc, user.user_id).toString(), request.body.code, app.now())
      if (step === null) throw new LucidError('TOTP_INVALID', 'TOTP code is invalid')
      return switchTotp(request, user, { totp_enabled: true, totp_last_step: step }, 'auth.totp_enabled')
    }
  )

  app.post(
    '/totp/disable',
    authed({
      ...withCode,
      summary: 'Turn TOTP off (needs a current code)'
    }),
    async (request) => {
      const user = await me(request)
      if (!user.totp_enabled) throw new LucidError('INVALID_REQUEST', 'TOTP is not enabled', { status: 409 })
      await service.checkSecondFactor(user, request.body.code, clientInfo(request))
      const off = { totp_enabled: false, totp_secret_enc: null, totp_last_step: null }
      return switchTotp(request, user, off, 'auth.totp_disabled')
    }
  )
}
