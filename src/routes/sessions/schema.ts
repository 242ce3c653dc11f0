import { Type } from '@sinclair/typebox'
import type { SessionRow, ChunkRow } from '../../data/repositories/sessions.js'
import { MAX_PAGE, PaginationSchema } from '../../schemas/common.js'

export const MIB = 1024 * 1024
export const GIB = 1024 * MIB
export const SessionStatusSchema = Type.Union(
  ['initializing', 'active', 'completed', 'terminated', 'failed'].map((s) => Type.Literal(s))
)

export const SessionSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  status: SessionStatusSchema,
  max_size_bytes: Type.Integer(),
  size_bytes: Type.Integer(),
  chunk_count: Type.Integer(),
  trust_policy_id: Type.Union([Type.String(), Type.Null()]),
  manifest_id: Type.Union([Type.String(), Type.Null()]),
  merkle_root: Type.Union([Type.String(), Type.Null()]),
  termination_reason: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  completed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  duration: Type.Union([Type.Number({ description: 'seconds from started_at to completed_at' }), Type.Null()])
})

export function toSession(r: SessionRow) {
  return {
    session_id: r.session_id,
    user_id: r.user_id,
    name: r.name,
    description: r.description,
    status: r.status,
    max_size_bytes: r.max_size_bytes,
    size_bytes: r.size_bytes,
    chunk_count: r.chunk_count,
    trust_policy_id: r.trust_policy_id,
    manifest_id: r.manifest_id ?? null,
    merkle_root: r.merkle_root ?? null,
    termination_reason: r.termination_reason,
    metadata: r.metadata,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    started_at: r.started_at?.toISOString() ?? null,
    completed_at: r.completed_at?.toISOString() ?? null,
    duration:
      r.started_at !== null && r.completed_at !== null
        ? (r.completed_at.getTime() - r.started_at.getTime()) / 1000
        : null
  }
}

export const CreateSessionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    max_size_bytes: Type.Optional(Type.Integer({ minimum: MIB, maximum: 100 * GIB })),
    trust_policy_id: Type.Optional(Type.String({ format: 'uuid' })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 }))
  },
  { additionalProperties: false }
)
export const UpdateSessionSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    trust_policy_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })),
    status: Type.Optional(
      Type.Union([Type.Literal('completed'), Type.Literal('failed')], { description: 'completed builds the manifest' })
    )
  },
  { additionalProperties: false, minProperties: 1 }
)
export const SessionParamsSchema = Type.Object({ session_id: Type.String({ format: 'uuid' }) })
export const ChunkParamsSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  index: Type.Integer({ minimum: 0, maximum: 10_000_000 })
})
export const SessionListQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    status: Type.Optional(SessionStatusSchema),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'full-text search over name and description' })),
    sort: Type.Union([Type.Literal('created_at'), Type.Literal('updated_at'), Type.Literal('name')], {
      default: 'created_at'
    }),
    order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' }),
    user_id: Type.Optional(Type.String({ format: 'uuid', description: 'admins only' }))
  },
  { additionalProperties: false }
)
export const SessionListSchema = Type.Object({ sessions: Type.Array(SessionSchema), pagination: PaginationSchema })
export const TerminateSchema = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false }
)

export const ChunkSchema = Type.Object({
  session_id: Type.String(),
  index: Type.Integer(),
  size: Type.Integer(),
  hash: Type.String({ description: 'SHA-256 of the bytes, lowercase hex' }),
  created_at: Type.String({ format: 'date-time' })
})
export const toChunk = (c: ChunkRow) => ({
  session_id: c.session_id,
  index: c.chunk_index,
  size: c.size_bytes,
  hash: c.sha256,
  created_at: c.created_at.toISOString()
})
export const ChunkListSchema = Type.Object({ chunks: Type.Array(ChunkSchema), pagination: PaginationSchema })
export const ChunkHeadersSchema = Type.Object({
  'x-chunk-index': Type.String({ pattern: '^(0|[1-9][0-9]{0,6})$' }),
  'x-chunk-sha256': Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' }))
})
// The upload body is a raw stream (never buffered): documented, not validated.
export const ChunkBodyDoc = {
  content: {
    'application/octet-stream': {
      schema: { type: 'string', format: 'binary', description: 'the chunk bytes, 1 byte to 10 MiB' }
    }
  }
}
export const ChunkDataSchema = Type.String({ format: 'binary' })
export const NotModifiedSchema = Type.Null({ description: 'Not modified: If-None-Match matched the ETag' })

export { ManifestSchema, toManifest } from '../shared/schema.js'
