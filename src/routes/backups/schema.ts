/** Request and response schemas of /api/v1/backups and /api/v1/backup-schedules (issue 7). */
import { Type, type Static } from '@sinclair/typebox'
import { MAX_PAGE, PaginationSchema } from '../../schemas/common.js'
import type { BackupRow, RestoreRow, ScheduleRow } from '../../backup/service.js'

const TableName = Type.String({
  pattern: '^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}$',
  description: 'table, or schema.table'
})
const Tables = Type.Array(TableName, { maxItems: 200, uniqueItems: true })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const RetentionDays = () => Type.Integer({ minimum: 1, maximum: 3650, default: 30 })

export const IdParamsSchema = Type.Object({ backup_id: Type.String({ format: 'uuid' }) })
export const RestoreParamsSchema = Type.Object({
  backup_id: Type.String({ format: 'uuid' }),
  restore_id: Type.String({ format: 'uuid' })
})
export const ScheduleParamsSchema = Type.Object({ schedule_id: Type.String({ format: 'uuid' }) })
export { ConfirmQuerySchema as ConfirmSchema } from '../shared/schema.js'

export const BackupSchema = Type.Object({
  backup_id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  status: Type.String(),
  tables: Nullable(Type.Array(Type.String())),
  compression: Type.Boolean(),
  encryption: Type.Boolean(),
  retention_days: Type.Integer(),
  schedule_id: Nullable(Type.String()),
  size_bytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String()),
  schema_version: Nullable(Type.Integer()),
  row_counts: Nullable(Type.Record(Type.String(), Type.Integer())),
  error: Nullable(Type.String()),
  created_at: Type.String(),
  completed_at: Nullable(Type.String()),
  expires_at: Type.String()
})
export const RestoreSchema = Type.Object({
  restore_id: Type.String(),
  backup_id: Type.String(),
  status: Type.String(),
  tables: Nullable(Type.Array(Type.String())),
  drop_existing: Type.Boolean(),
  rows_restored: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  created_at: Type.String(),
  completed_at: Nullable(Type.String())
})
export const ScheduleSchema = Type.Object({
  schedule_id: Type.String(),
  name: Type.String(),
  cron: Type.String(),
  tables: Nullable(Type.Array(Type.String())),
  compression: Type.Boolean(),
  encryption: Type.Boolean(),
  retention_days: Type.Integer(),
  enabled: Type.Boolean(),
  last_run_at: Nullable(Type.String()),
  created_at: Type.String()
})

export const CreateBackupSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[\\w .-]{1,100}$', description: 'default: backup-<UTC time>' })),
    type: Type.Optional(Type.Literal('full')),
    tables: Type.Optional(Tables),
    compression: Type.Boolean({ default: true }),
    encryption: Type.Boolean({ default: true }),
    retention_days: RetentionDays()
  },
  { additionalProperties: false }
)
export const BackupAcceptedSchema = Type.Object({ backup_id: Type.String(), status: Type.String() })

export const BackupListQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    status: Type.Optional(Type.Union(['pending', 'running', 'completed', 'failed'].map((s) => Type.Literal(s)))),
    type: Type.Optional(Type.Literal('full'))
  },
  { additionalProperties: false }
)
export const BackupListSchema = Type.Object({ backups: Type.Array(BackupSchema), pagination: PaginationSchema })

export const CleanupResultSchema = Type.Object({ deleted: Type.Integer() })

export const VerifyResultSchema = Type.Object({
  valid: Type.Boolean(),
  backup_id: Type.String(),
  tables: Type.Optional(Type.Integer()),
  rows: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String())
})
export type VerifyResult = Static<typeof VerifyResultSchema>

export const RestoreRequestSchema = Type.Object(
  {
    tables: Type.Optional(Tables),
    drop_existing: Type.Boolean({ default: false }),
    confirm: Type.Optional(Type.Boolean())
  },
  { additionalProperties: false }
)
export const RestoreAcceptedSchema = Type.Object({ restore_id: Type.String(), status: Type.String() })

export const ScheduleListSchema = Type.Object({ schedules: Type.Array(ScheduleSchema) })
export const CreateScheduleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[\\w-]{1,60}$' }),
    cron: Type.String({ maxLength: 100 }),
    tables: Type.Optional(Tables),
    compression: Type.Boolean({ default: true }),
    encryption: Type.Boolean({ default: true }),
    retention_days: RetentionDays(),
    enabled: Type.Boolean({ default: true })
  },
  { additionalProperties: false }
)

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())
export const toBackup = (r: BackupRow): Static<typeof BackupSchema> => ({
  backup_id: r.backup_id,
  name: r.name,
  type: r.type,
  status: r.status,
  tables: r.tables,
  compression: r.compression,
  encryption: r.encryption,
  retention_days: r.retention_days,
  schedule_id: r.schedule_id,
  size_bytes: r.size_bytes === null ? null : Number(r.size_bytes),
  sha256: r.sha256,
  schema_version: r.schema_version,
  row_counts: r.row_counts,
  error: r.error,
  created_at: iso(r.created_at) as string,
  completed_at: iso(r.completed_at),
  expires_at: iso(r.expires_at) as string
})
export const toRestore = (r: RestoreRow): Static<typeof RestoreSchema> => ({
  restore_id: r.restore_id,
  backup_id: r.backup_id,
  status: r.status,
  tables: r.tables,
  drop_existing: r.drop_existing,
  rows_restored: r.rows_restored === null ? null : Number(r.rows_restored),
  error: r.error,
  created_at: iso(r.created_at) as string,
  completed_at: iso(r.completed_at)
})
export const toSchedule = (r: ScheduleRow): Static<typeof ScheduleSchema> => ({
  schedule_id: r.schedule_id,
  name: r.name,
  cron: r.cron,
  tables: r.tables,
  compression: r.compression,
  encryption: r.encryption,
  retention_days: r.retention_days,
  enabled: r.enabled,
  last_run_at: iso(r.last_run_at),
  created_at: iso(r.created_at) as string
})
