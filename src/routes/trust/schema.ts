/** Trust policy request and response schemas. */
import { Type, type Static } from '@sinclair/typebox'

export const RuleSchema = Type.Object(
  {
    rule_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    type: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    condition: Type.String({ minLength: 1, maxLength: 1000 }),
    action: Type.String({ minLength: 1, maxLength: 200 }),
    priority: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
    enabled: Type.Boolean({ default: true })
  },
  { additionalProperties: false }
)
export const PolicyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    rules: Type.Array(RuleSchema, { maxItems: 200, default: [] }),
    enabled: Type.Boolean({ default: true })
  },
  { additionalProperties: false }
)
export type PolicyInput = Static<typeof PolicyBody>
export const PolicySchema = Type.Object({
  policy_id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  rules: Type.Array(RuleSchema),
  enabled: Type.Boolean(),
  policy_hash: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' })
})
export const Params = Type.Object({ policy_id: Type.String({ format: 'uuid' }) })
