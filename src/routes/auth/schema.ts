import { Type } from '@sinclair/typebox'
import { ErrorEnvelopeSchema } from '../../schemas/common.js'
import type { UserRow } from '../../data/repositories/users.js'
import {
  EmailSchema,
  TronAddressSchema,
  UserSchema,
  WalletTypeSchema,
  ChallengeResponseSchema,
  MagicLinkSentSchema,
  toUser
} from '../shared/schema.js'

export { ChallengeResponseSchema, MagicLinkSentSchema }

const TotpCode = Type.String({ pattern: '^[0-9]{6}$' })

export const ChallengeRequestSchema = Type.Object({ tron_address: TronAddressSchema }, { additionalProperties: false })

export const LoginBodySchema = Type.Object(
  {
    tron_address: Type.Optional(TronAddressSchema),
    signature: Type.Optional(Type.String({ maxLength: 200 })),
    nonce: Type.Optional(Type.String({ maxLength: 128 })),
    wallet_type: Type.Optional(WalletTypeSchema),
    totp_code: Type.Optional(TotpCode),
    email: Type.Optional(EmailSchema)
  },
  {
    additionalProperties: false,
    description: 'Wallet login {tron_address, signature, nonce, wallet_type?, totp_code?} or email login {email}'
  }
)
export const VerifyBodySchema = Type.Object(
  {
    email: Type.Optional(EmailSchema),
    code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    token: Type.Optional(Type.String({ minLength: 20, maxLength: 200 })),
    totp_code: Type.Optional(TotpCode)
  },
  {
    additionalProperties: false,
    description: '{email, code} or {token} (from the magic link), plus totp_code when enabled'
  }
)

export const AuthResponseSchema = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  user: UserSchema
})
export function tokensBody(result: {
  access_token: string
  refresh_token: string
  token_type: 'Bearer'
  expires_in: number
  user: UserRow
}) {
  return {
    access_token: result.access_token,
    refresh_token: result.refresh_token,
    token_type: result.token_type,
    expires_in: result.expires_in,
    user: toUser(result.user)
  }
}
export const RefreshRequestSchema = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false }
)
export const LogoutRequestSchema = Type.Object(
  { logout_all_sessions: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false }
)
export const MessageSchema = Type.Object({ message: Type.String() })

export const LoginSessionSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  method: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  current: Type.Boolean()
})
export const LoginSessionListSchema = Type.Object({ sessions: Type.Array(LoginSessionSchema) })
export const SessionParamsSchema = Type.Object({ session_id: Type.String({ format: 'uuid' }) })
export const AuthStatusSchema = Type.Object({
  authenticated: Type.Literal(true),
  user: UserSchema,
  session_id: Type.Union([Type.String(), Type.Null()]),
  token_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})

export const TotpSetupSchema = Type.Object({ secret: Type.String(), otpauth_uri: Type.String(), qr_svg: Type.String() })
export const TotpCodeSchema = Type.Object({ code: TotpCode }, { additionalProperties: false })
/** A magic-link token as sendEmailCode makes it (32 random bytes, base64url). */
export const MAGIC_TOKEN = /^[A-Za-z0-9_-]{20,200}$/
// Lenient on purpose: a link cut short by a mail client gets a readable page, not a 422 (issue 13).
export const MagicQuerySchema = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 4096, description: 'the token from the emailed link' }))
})
// Always a page, never JSON (issue 13): a person opened a link from an email.
export const htmlPage = (description: string, envelopeToo = false) => ({
  description,
  content: {
    'text/html': { schema: Type.String() },
    ...(envelopeToo ? { 'application/json': { schema: Type.Ref(ErrorEnvelopeSchema) } } : {})
  }
})
