import { Type, type Static } from '@sinclair/typebox'
import type { UserRow } from '../../data/repositories/users.js'
import { PaginationSchema } from '../../schemas/common.js'

export const RoleSchema = Type.Union([Type.Literal('user'), Type.Literal('node_operator'), Type.Literal('admin'), Type.Literal('super_admin')])
export const WalletTypeSchema = Type.Union([Type.Literal('software'), Type.Literal('ledger'), Type.Literal('trezor'), Type.Literal('keepkey')], {
  description: 'what signed: software (TronLink, TronWeb, default) or a hardware wallet (ledger, trezor, keepkey); recorded on the user'
})
export const UserStatusSchema = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')])
export const TronAddressSchema = Type.String({ pattern: '^T[1-9A-HJ-NP-Za-km-z]{33}$', description: 'base58check TRON address (34 characters, version byte 0x41)' })
export const EmailSchema = Type.String({ format: 'email', maxLength: 254 })
export const UsernameSchema = Type.String({ minLength: 3, maxLength: 50, pattern: '^[a-zA-Z0-9_-]+$' })

export const UserSchema = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    email: Type.Union([Type.String(), Type.Null()]),
    tron_address: Type.Union([Type.String(), Type.Null()]),
    wallet_type: Type.Union([WalletTypeSchema, Type.Null()]),
    username: Type.Union([Type.String(), Type.Null()]),
    first_name: Type.Union([Type.String(), Type.Null()]),
    last_name: Type.Union([Type.String(), Type.Null()]),
    role: RoleSchema,
    status: UserStatusSchema,
    totp_enabled: Type.Boolean(),
    hardware_wallet_enabled: Type.Boolean(),
    locked_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    last_login: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  },
  { $id: 'User' }
)
export type User = Static<typeof UserSchema>

export function toUser(row: UserRow): User {
  return {
    user_id: row.user_id,
    email: row.email,
    tron_address: row.tron_address,
    wallet_type: row.wallet_type,
    username: row.username,
    first_name: row.first_name,
    last_name: row.last_name,
    role: row.role,
    status: row.status,
    totp_enabled: row.totp_enabled,
    hardware_wallet_enabled: row.wallet_type !== null && row.wallet_type !== 'software',
    locked_until: row.locked_until?.toISOString() ?? null,
    metadata: row.metadata,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    last_login: row.last_login_at?.toISOString() ?? null
  }
}

const NameSchema = Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])
const MetadataSchema = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })

export const UpdateMeSchema = Type.Object(
  { username: Type.Optional(Type.Union([UsernameSchema, Type.Null()])), first_name: Type.Optional(NameSchema), last_name: Type.Optional(NameSchema), metadata: Type.Optional(MetadataSchema) },
  { additionalProperties: false, minProperties: 1 }
)
export const AdminUpdateUserSchema = Type.Object(
  { username: Type.Optional(Type.Union([UsernameSchema, Type.Null()])), first_name: Type.Optional(NameSchema), last_name: Type.Optional(NameSchema), metadata: Type.Optional(MetadataSchema), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])) },
  { additionalProperties: false, minProperties: 1 }
)
export const RoleChangeSchema = Type.Object({ role: RoleSchema }, { additionalProperties: false })
export const UserIdParamsSchema = Type.Object({ user_id: Type.String({ format: 'uuid' }) })
export const UserListQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    role: Type.Optional(RoleSchema),
    status: Type.Optional(UserStatusSchema),
    q: Type.Optional(Type.String({ maxLength: 100 }))
  },
  { additionalProperties: false }
)
export const UserListSchema = Type.Object({ users: Type.Array(UserSchema), pagination: PaginationSchema })

export const LinkWalletSchema = Type.Object(
  { tron_address: TronAddressSchema, signature: Type.String({ maxLength: 200 }), nonce: Type.String({ maxLength: 128 }), wallet_type: Type.Optional(WalletTypeSchema) },
  { additionalProperties: false }
)
export const LinkEmailSchema = Type.Object({ email: EmailSchema }, { additionalProperties: false })

export const ApiKeyCreateSchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), role: Type.Optional(RoleSchema), expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })) },
  { additionalProperties: false }
)
export const ApiKeySchema = Type.Object({
  key_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String(),
  role: RoleSchema,
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
export const ApiKeyCreatedSchema = Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String({ description: 'shown once; send as X-API-Key' }) })])
export const ApiKeyParamsSchema = Type.Object({ key_id: Type.String({ format: 'uuid' }) })
