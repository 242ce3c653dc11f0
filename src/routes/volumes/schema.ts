/** Volume request and response schemas. */
import { Type } from '@sinclair/typebox'
import { VOLUME_NAME } from '../../volumes/volumes.js'

export const NameParams = Type.Object({ name: Type.String({ pattern: VOLUME_NAME }) })
export const Quota = Type.Integer({ minimum: 1_048_576, maximum: 1_125_899_906_842_624, description: 'bytes (1 MiB – 1 PiB)' })
export const Status = Type.Union([Type.Literal('active'), Type.Literal('readonly'), Type.Literal('maintenance')])
export const VolumeSchema = Type.Object({ name: Type.String(), path: Type.String(), quota_bytes: Type.Integer(), status: Type.String(), system: Type.Boolean(), used_bytes: Type.Integer(), files: Type.Integer(), used_ratio: Type.Number(), created_at: Type.String(), updated_at: Type.String() })

export const VolumeHealthSchema = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  free_bytes: Type.Integer(),
  total_bytes: Type.Integer(),
  used_bytes: Type.Integer(),
  quota_bytes: Type.Integer(),
  write_test: Type.Object({ ok: Type.Boolean(), latency_ms: Type.Union([Type.Number(), Type.Null()]), error: Type.Optional(Type.String()) })
})
