/** Audit log request and response schemas. */
import { Type } from '@sinclair/typebox'
import { MAX_PAGE } from '../../schemas/common.js'

export const AuditEntrySchema = Type.Object({
  audit_id: Type.Integer(),
  occurred_at: Type.String({ format: 'date-time' }),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  actor_role: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target_type: Type.Union([Type.String(), Type.Null()]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  prev_hash: Type.String(),
  hash: Type.String()
})

export const LogQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    action: Type.Optional(
      Type.String({ pattern: '^[a-z_.]{1,64}$', description: 'exact action, or a prefix ending in "." (e.g. "auth.")' })
    ),
    actor_id: Type.Optional(Type.String({ format: 'uuid' })),
    target_type: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
    target_id: Type.Optional(Type.String({ maxLength: 200 })),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' }))
  },
  { additionalProperties: false }
)
