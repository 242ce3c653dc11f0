import type { ApiKeyRow } from '../../data/repositories/api-keys.js'
import { Type } from '@sinclair/typebox'
import { MAX_PAGE, PaginationSchema } from '../../schemas/common.js'

export {
  RoleSchema,
  WalletTypeSchema,
  UserStatusSchema,
  TronAddressSchema,
  EmailSchema,
  UsernameSchema,
  UserSchema,
  toUser,
  type User
} from '../shared/schema.js'
import {
  EmailSchema,
  RoleSchema,
  TronAddressSchema,
  UserSchema,
  UsernameSchema,
  UserStatusSchema,
  WalletTypeSchema
} from '../shared/schema.js'

const NameSchema = Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])
const MetadataSchema = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })

export const UpdateMeSchema = Type.Object(
  {
    username: Type.Optional(Type.Union([UsernameSchema, Type.Null()])),
    first_name: Type.Optional(NameSchema),
    last_name: Type.Optional(NameSchema),
    metadata: Type.Optional(MetadataSchema)
  },
  { additionalProperties: false, minProperties: 1 }
)
export const AdminUpdateUserSchema = Type.Object(
  {
    username: Type.Optional(Type.Union([UsernameSchema, Type.Null()])),
    first_name: Type.Optional(NameSchema),
    last_name: Type.Optional(NameSchema),
    metadata: Type.Optional(MetadataSchema),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')]))
  },
  { additionalProperties: false, minProperties: 1 }
)
export const RoleChangeSchema = Type.Object({ role: RoleSchema }, { additionalProperties: false })
export const UserIdParamsSchema = Type.Object({ user_id: Type.String({ format: 'uuid' }) })
export const UserListQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    role: Type.Optional(RoleSchema),
    status: Type.Optional(UserStatusSchema),
    q: Type.Optional(Type.String({ maxLength: 100 }))
  },
  { additionalProperties: false }
)
export const UserListSchema = Type.Object({ users: Type.Array(UserSchema), pagination: PaginationSchema })

export const LinkWalletSchema = Type.Object(
  {
    tron_address: TronAddressSchema,
    signature: Type.String({ maxLength: 200 }),
    nonce: Type.String({ maxLength: 128 }),
    wallet_type: Type.Optional(WalletTypeSchema)
  },
  { additionalProperties: false }
)
export const LinkEmailSchema = Type.Object({ email: EmailSchema }, { additionalProperties: false })

export const ApiKeyCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(RoleSchema),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 }))
  },
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
export const ApiKeyCreatedSchema = Type.Intersect([
  ApiKeySchema,
  Type.Object({ key: Type.String({ description: 'shown once; send as X-API-Key' }) })
])
export const ApiKeyParamsSchema = Type.Object({ key_id: Type.String({ format: 'uuid' }) })

export const toApiKey = (k: ApiKeyRow) => ({
  key_id: k.key_id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  created_at: k.created_at.toISOString(),
  expires_at: k.expires_at?.toISOString() ?? null,
  last_used_at: k.last_used_at?.toISOString() ?? null
})
