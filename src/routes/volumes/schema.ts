/** Volume request and response schemas. */
import { Type } from '@sinclair/typebox'
import { VOLUME_NAME } from '../../volumes/volumes.js'

export const NameParams = Type.Object({ name: Type.String({ pattern: VOLUME_NAME }) })
export const Quota = Type.Integer({
  minimum: 1_048_576,
  maximum: 1_125_899_906_842_624,
  description: 'bytes (1 MiB – 1 PiB)'
})
export const Status = Type.Union([Type.Literal('active'), Type.Literal('readonly'), Type.Literal('maintenance')])
export const VolumeSchema = Type.Object({
  name: Type.String(),
  path: Type.String(),
  quota_bytes: Type.Integer(),
  status: Type.String(),
  system: Type.Boolean(),
  used_bytes: Type.Integer(),
  files: Type.Integer(),
  used_ratio: Type.Number(),
  created_at: Type.String(),
  updated_at: Type.String()
})

export const VolumeHealthSchema = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  free_bytes: Type.Integer(),
  total_bytes: Type.Integer(),
  used_bytes: Type.Integer(),
  quota_bytes: Type.Integer(),
  write_test: Type.Object({
    ok: Type.Boolean(),
    latency_ms: Type.Union([Type.Number(), Type.Null()]),
    error: Type.Optional(Type.String())
  })
})

export const Periods = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const
export type Period = keyof typeof Periods
export const UsageQuerystring = Type.Object(
  {
    period: Type.Union(
      Object.keys(Periods).map((p) => Type.Literal(p as Period)),
      { default: '24h' }
    )
  },
  { additionalProperties: false }
)
const UsageFigures = { used_bytes: Type.Integer(), files: Type.Integer() }
/** Usage now (walked on disk) and as sampled every five minutes by the volume-usage job. */
export const UsageSchema = Type.Object({
  name: Type.String(),
  period: Type.String(),
  quota_bytes: Type.Integer(),
  current: Type.Object(UsageFigures),
  history: Type.Array(Type.Object({ sampled_at: Type.String({ format: 'date-time' }), ...UsageFigures }))
})
export const CreateVolumeBody = Type.Object(
  { name: Type.String({ pattern: VOLUME_NAME }), quota_bytes: Quota },
  { additionalProperties: false }
)
export const StatusBody = Type.Object({ status: Status }, { additionalProperties: false })
export const ResizeBody = Type.Object({ quota_bytes: Quota }, { additionalProperties: false })
export { ConfirmQuerySchema as Confirm } from '../shared/schema.js'
export const CleanupSchema = Type.Object({ removed_files: Type.Integer(), freed_bytes: Type.Integer() })
export const VolumesSchema = Type.Object({ volumes: Type.Array(VolumeSchema) })
export const NoContent = Type.Null()
