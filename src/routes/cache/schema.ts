/** Cache (state store) API request and response schemas. */
import { Type, type TSchema } from '@sinclair/typebox'
import { MAX_PAGE, PaginationSchema } from '../../schemas/common.js'
import { StoreStatsSchema } from '../shared/schema.js'

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const nullableString = nullable(Type.String())

/** One active login session (auth_sessions row, without token ids). */
export const LoginSessionRowSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  ip: nullableString,
  user_agent: nullableString
})

// Keys as the API accepts them: printable, no spaces, bounded.
export const KeyParams = Type.Object({ key: Type.String({ pattern: '^[\\x21-\\x7e]{1,512}$' }) })
export const PatternSchema = Type.String({ pattern: '^[\\x21-\\x7e]{1,200}$', default: '*' })
export const KeyInfoSchema = Type.Object({
  key: Type.String(),
  type: Type.String(),
  ttl_ms: nullable(Type.Integer()),
  value: nullable(Type.String()),
  size_bytes: nullable(Type.Integer()),
  protected: Type.Boolean()
})
// A listing entry: never a value, for any key (issue 12 finding 1).
export const KeyEntrySchema = Type.Object({
  key: Type.String(),
  namespace: Type.String(),
  protected: Type.Boolean({ description: 'security state: its value is never shown and it cannot be written here' }),
  ttl_ms: nullable(Type.Integer()),
  size_bytes: nullable(Type.Integer())
})
export const KeysQuerystring = Type.Object(
  {
    pattern: PatternSchema,
    cursor: Type.String({ pattern: '^[0-9]{1,20}(:[0-9]{1,20})?$', default: '0' }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 })
  },
  { additionalProperties: false }
)
export const SetKeyBody = Type.Object(
  {
    value: Type.Unknown(),
    encoding: Type.Union([Type.Literal('json'), Type.Literal('raw'), Type.Literal('base64')], { default: 'json' }),
    ttl_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
    nx: Type.Boolean({ default: false })
  },
  { additionalProperties: false }
)
export const FlushBody = Type.Object(
  { confirm: Type.Boolean(), pattern: PatternSchema },
  { additionalProperties: false }
)
export const FlushSchema = Type.Object({ deleted: Type.Integer(), kept_protected: Type.Integer() })

// ip:ADDRESS (v4 or v6), user:UUID or key:UUID: the identities the limiter keys by.
export const IdentityParams = Type.Object({
  key: Type.String({
    pattern: '^(ip:[0-9a-fA-F:.]{2,45}|(user|key):[0-9a-f-]{36})$',
    description: 'ip:ADDRESS, user:UUID or key:UUID'
  })
})
export const LimiterStateSchema = Type.Object({
  key: Type.String(),
  mode: Type.String(),
  penalised: Type.Boolean(),
  rules: Type.Array(Type.Object({ rule: Type.String(), tat_ahead_ms: Type.Number() }))
})
export const LimiterClearedSchema = Type.Object({ key: Type.String(), cleared: Type.Integer() })
export const IdentitiesQuerystring = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false }
)
export const IdentitiesSchema = Type.Object({ identities: Type.Array(Type.String()), mode: Type.String() })

/** The store's figures and the prefix of the gateway's keys (null on the memory store). */
export const CacheStatsSchema = Type.Composite([StoreStatsSchema, Type.Object({ key_prefix: nullableString })])
export const CacheMemorySchema = Type.Object({
  used_bytes: nullable(Type.Integer()),
  peak_bytes: nullable(Type.Integer()),
  max_bytes: nullable(Type.Integer()),
  evicted_keys: nullable(Type.Integer()),
  sampled_keys: Type.Integer(),
  complete: Type.Boolean({ description: 'false when the scan stopped at 10,000 keys' }),
  // Open by nature: one entry per key prefix found in the store (rl, rl-epoch, nonce, ...).
  namespaces: Type.Record(Type.String(), Type.Integer(), {
    description: 'keys counted per namespace (the key up to its first ":" or "{")'
  })
})
export const KeysPageSchema = Type.Object({ keys: Type.Array(KeyEntrySchema), next_cursor: Type.String() })
export const SessionsQuerystring = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    user_id: Type.Optional(Type.String({ format: 'uuid' }))
  },
  { additionalProperties: false }
)
export const SessionsPageSchema = Type.Object({
  sessions: Type.Array(LoginSessionRowSchema),
  pagination: PaginationSchema
})
export const SessionParams = Type.Object({ session_id: Type.String({ format: 'uuid' }) })
