/**
 * Schemas more than one route group answers with (users and auth: the User; users and auth: the
 * wallet challenge and magic-link replies; sessions and manifests: the Manifest; backups, database,
 * volumes: the confirm=true of a destructive operation). A group's own
 * schemas stay in its schema.ts, which re-exports these where it used to define them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { UserRow } from '../../data/repositories/users.js'
import { withErrors } from '../../schemas/common.js'
import type { ChunkRow, ManifestRow } from '../../data/repositories/sessions.js'
import type { AuthSessionRow } from '../../data/repositories/auth-sessions.js'

export const RoleSchema = Type.Union([
  Type.Literal('user'),
  Type.Literal('node_operator'),
  Type.Literal('admin'),
  Type.Literal('super_admin')
])
export const WalletTypeSchema = Type.Union(
  [Type.Literal('software'), Type.Literal('ledger'), Type.Literal('trezor'), Type.Literal('keepkey')],
  {
    description:
      'what signed: software (TronLink, TronWeb, default) or a hardware wallet (ledger, trezor, keepkey); recorded on the user'
  }
)
export const UserStatusSchema = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')])
export const TronAddressSchema = Type.String({
  pattern: '^T[1-9A-HJ-NP-Za-km-z]{33}$',
  description: 'base58check TRON address (34 characters, version byte 0x41)'
})
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

export const ChallengeResponseSchema = Type.Object({
  nonce: Type.String(),
  message: Type.String({ description: 'sign exactly this text with TIP-191 (TronWeb signMessageV2)' }),
  expires_at: Type.String({ format: 'date-time' })
})
export const MagicLinkSentSchema = Type.Object({
  message: Type.String(),
  expires_in: Type.Integer({ description: 'seconds' })
})

const AnchorSchema = Type.Union([
  Type.Object({
    status: Type.String(),
    transaction_id: Type.Union([Type.String(), Type.Null()]),
    block_height: Type.Union([Type.Integer(), Type.Null()]),
    confirmed_at: Type.Union([Type.String(), Type.Null()]),
    error: Type.Optional(Type.String())
  }),
  Type.Null()
])
export const ManifestSchema = Type.Object(
  {
    manifest_id: Type.String({ format: 'uuid' }),
    session_id: Type.String({ format: 'uuid' }),
    merkle_root: Type.String(),
    chunk_count: Type.Integer(),
    total_size: Type.Integer(),
    created_at: Type.String({ format: 'date-time' }),
    chunks: Type.Array(
      Type.Object({ index: Type.Integer(), size: Type.Integer(), hash: Type.String(), created_at: Type.String() })
    ),
    anchor: AnchorSchema
  },
  { $id: 'Manifest' }
)
export function toManifest(m: ManifestRow, chunks: ChunkRow[]) {
  return {
    manifest_id: m.manifest_id,
    session_id: m.session_id,
    merkle_root: m.merkle_root,
    chunk_count: m.chunk_count,
    total_size: m.total_size,
    created_at: m.created_at.toISOString(),
    chunks: chunks.map((c) => ({
      index: c.chunk_index,
      size: c.size_bytes,
      hash: c.sha256,
      created_at: c.created_at.toISOString()
    })),
    anchor:
      m.anchor_status === null
        ? null
        : {
            status: m.anchor_status,
            transaction_id: m.anchor_txid,
            block_height: m.anchor_block_height,
            confirmed_at: m.anchor_confirmed_at?.toISOString() ?? null,
            ...(m.anchor_error ? { error: m.anchor_error } : {})
          }
  }
}

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
/**
 * The state store's admin view (StoreStats of src/stores/state-store.ts): database stats and cache
 * stats answer with it.
 */
export const StoreStatsSchema = Type.Object({
  kind: Type.Union([Type.Literal('memory'), Type.Literal('redis')]),
  version: nullable(Type.String()),
  keys: Type.Integer(),
  memory_bytes: nullable(Type.Integer()),
  peak_memory_bytes: nullable(Type.Integer()),
  max_memory_bytes: nullable(Type.Integer()),
  clients: nullable(Type.Integer()),
  hits: nullable(Type.Integer()),
  misses: nullable(Type.Integer()),
  hit_rate: nullable(Type.Number()),
  evicted_keys: nullable(Type.Integer()),
  uptime_s: nullable(Type.Integer())
})

/** `?confirm=true`, which destructive operations demand (requireConfirm in shared/request.ts). */
export const ConfirmQuerySchema = Type.Object(
  { confirm: Type.Optional(Type.Boolean()) },
  { additionalProperties: false }
)

/** The schema of a delete (or revocation) of what `params` names, answering 204 with no body. */
export const deleteSchema = <P extends TSchema>(summary: string, params: P) => ({
  summary,
  params,
  response: withErrors({ 204: Type.Null() })
})

/** The schema of a delete that demands confirm=true and answers 204 with no body. */
export const confirmedDeleteSchema = <P extends TSchema>(summary: string, params: P) => ({
  ...deleteSchema(summary, params),
  querystring: ConfirmQuerySchema
})

/** The schema of a create that answers 201 with what it made, or 409 when it exists or a limit is reached. */
export const createSchema = <B extends TSchema, R extends TSchema>(summary: string, body: B, created: R) => ({
  errors: [409],
  summary,
  body,
  response: withErrors({ 201: created })
})

/** A login session (auth_sessions row) as the auth and admin-identity routes list it. */
export const toAuthSession = (s: AuthSessionRow) => ({
  session_id: s.session_id,
  method: s.method,
  ip: s.ip,
  user_agent: s.user_agent,
  created_at: s.created_at.toISOString(),
  last_used_at: s.last_used_at.toISOString(),
  expires_at: s.expires_at.toISOString()
})
