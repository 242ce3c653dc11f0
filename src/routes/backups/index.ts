/**
 * /api/v1/backups (issue 7): admins create, list, inspect and verify backups; super_admins
 * delete, restore and clean up, each with `confirm=true`. Every action is audited.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { MAX_PAGE, pagination, PaginationSchema, withErrors } from '../../schemas/common.js'
import { BackupError, readManifest, verifyBackup } from '../../backup/backup.js'
import { createBackupService, type BackupRow, type BackupService, type RestoreRow, type ScheduleRow } from '../../backup/service.js'
import { validateCron } from '../../jobs/job-runner.js'
import { auditReads } from '../shared/audit-reads.js'
import { requireConfirm } from '../shared/request.js'

declare module 'fastify' {
  interface FastifyInstance {
    backups: BackupService
  }
}

const TableName = Type.String({ pattern: '^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}$', description: 'table, or schema.table' })
const Tables = Type.Array(TableName, { maxItems: 200, uniqueItems: true })
const IdParams = Type.Object({ backup_id: Type.String({ format: 'uuid' }) })
const Confirm = Type.Object({ confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])

const BackupSchema = Type.Object({
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
const RestoreSchema = Type.Object({
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
const ScheduleSchema = Type.Object({
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

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())
const toBackup = (r: BackupRow): Static<typeof BackupSchema> => ({
  backup_id: r.backup_id, name: r.name, type: r.type, status: r.status, tables: r.tables, compression: r.compression, encryption: r.encryption,
  retention_days: r.retention_days, schedule_id: r.schedule_id, size_bytes: r.size_bytes === null ? null : Number(r.size_bytes), sha256: r.sha256,
  schema_version: r.schema_version, row_counts: r.row_counts, error: r.error, created_at: iso(r.created_at) as string, completed_at: iso(r.completed_at), expires_at: iso(r.expires_at) as string
})
const toRestore = (r: RestoreRow): Static<typeof RestoreSchema> => ({
  restore_id: r.restore_id, backup_id: r.backup_id, status: r.status, tables: r.tables, drop_existing: r.drop_existing,
  rows_restored: r.rows_restored === null ? null : Number(r.rows_restored), error: r.error, created_at: iso(r.created_at) as string, completed_at: iso(r.completed_at)
})
const toSchedule = (r: ScheduleRow): Static<typeof ScheduleSchema> => ({
  schedule_id: r.schedule_id, name: r.name, cron: r.cron, tables: r.tables, compression: r.compression, encryption: r.encryption,
  retention_days: r.retention_days, enabled: r.enabled, last_run_at: iso(r.last_run_at), created_at: iso(r.created_at) as string
})

/** The service, its jobs (schedules every minute, retention hourly) and a clean shutdown. */
export const backupServicePlugin = fp(
  async function backupService(app: FastifyInstance): Promise<void> {
    const service = createBackupService({
      db: app.db,
      stateStore: app.stateStore,
      dir: app.config.backupDir,
      key: app.config.dataEncryptionKey,
      now: app.now,
      audit: (e) => app.repos.audit.append(e),
      log: app.log
    })
    app.decorate('backups', service)
    app.jobs.define({ name: 'backup-schedules', everyMs: 60_000, run: async () => void (await service.runSchedules()) })
    app.jobs.define({ name: 'backup-retention', everyMs: 3_600_000, run: async () => void (await service.cleanup()) })
    app.addHook('onClose', async () => service.idle())
  },
  { name: 'lucid-backups', dependencies: ['lucid-infrastructure', 'lucid-auth'] }
)

export default async function backupRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  auditReads(app, 'backups')
  const tags = ['backups']
  const admin = { onRequest: [app.authenticate, app.requireRole('admin')] }
  const superAdmin = { onRequest: [app.authenticate, app.requireRole('super_admin')] }

  app.post('/', {
    ...superAdmin,
    schema: {
      tags,
      summary: 'Start a backup (202; super_admin; poll GET /backups/{id}); every field is optional',
      bodyOptional: true,
      body: Type.Object({
        name: Type.Optional(Type.String({ pattern: '^[\\w .-]{1,100}$', description: 'default: backup-<UTC time>' })),
        type: Type.Optional(Type.Literal('full')),
        tables: Type.Optional(Tables),
        compression: Type.Boolean({ default: true }),
        encryption: Type.Boolean({ default: true }),
        retention_days: Type.Integer({ minimum: 1, maximum: 3650, default: 30 })
      }, { additionalProperties: false }),
      response: withErrors({ 202: Type.Object({ backup_id: Type.String(), status: Type.String() }) })
    }
  }, async (request, reply) => {
    // No body means every default (issue 13), like the CLI's `backup create`.
    const name = request.body.name ?? `backup-${new Date(app.now()).toISOString().replace(/[:.]/g, '-')}`
    const row = await app.backups.start({ ...request.body, name }, request.user!.id)
    await app.audit(request, { action: 'backup.requested', target_type: 'backup', target_id: row.backup_id, details: { name: row.name, tables: row.tables, encryption: row.encryption } })
    return reply.code(202).send({ backup_id: row.backup_id, status: row.status })
  })

  app.get('/', {
    ...admin,
    schema: {
      tags,
      summary: 'Backups, newest first',
      querystring: Type.Object({
        page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        status: Type.Optional(Type.Union(['pending', 'running', 'completed', 'failed'].map((s) => Type.Literal(s)))),
        type: Type.Optional(Type.Literal('full'))
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ backups: Type.Array(BackupSchema), pagination: PaginationSchema }) })
    }
  }, async (request) => {
    const { rows, total } = await app.backups.list(request.query)
    return { backups: rows.map(toBackup), pagination: pagination(request.query.page, request.query.limit, total) }
  })

  app.post('/cleanup', { ...superAdmin, schema: { tags, summary: 'Delete backups past their retention (super_admin, confirm=true)', querystring: Confirm, response: withErrors({ 200: Type.Object({ deleted: Type.Integer() }) }) } }, async (request) => {
    requireConfirm(request)
    return { deleted: await app.backups.cleanup() }
  })

  // The contract's collection path, kept for existing clients; /api/v1/backup-schedules is current.
  await app.register(async (scoped) => scheduleRoutes(scoped, { deprecated: true }), { prefix: '/schedules' })


  const found = async (id: string) => {
    const b = await app.backups.get(id)
    if (b === null) throw new LucidError('NOT_FOUND', 'Backup not found')
    return b
  }

  app.get('/:backup_id', { ...admin, schema: { tags, summary: 'One backup', params: IdParams, response: withErrors({ 200: BackupSchema }) } }, async (request) => toBackup(await found(request.params.backup_id)))

  app.delete('/:backup_id', { ...superAdmin, schema: { tags, summary: 'Delete a backup and its files (super_admin, confirm=true)', params: IdParams, querystring: Confirm, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    requireConfirm(request)
    const b = await found(request.params.backup_id)
    if (!(await app.backups.remove(b.backup_id))) throw new LucidError('INVALID_REQUEST', `Backup is ${b.status}; only completed or failed backups can be deleted`)
    await app.audit(request, { action: 'backup.deleted', target_type: 'backup', target_id: b.backup_id })
    return reply.code(204).send(null)
  })

  app.post('/:backup_id/verify', {
    ...superAdmin,
    schema: { tags, summary: 'Re-read the backup and check every checksum (super_admin)', params: IdParams, response: withErrors({ 200: Type.Object({ valid: Type.Boolean(), backup_id: Type.String(), tables: Type.Optional(Type.Integer()), rows: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()) }) }) }
  }, async (request) => {
    const b = await found(request.params.backup_id)
    if (b.status !== 'completed') throw new LucidError('INVALID_REQUEST', `Backup is ${b.status}`)
    let result: { valid: boolean; backup_id: string; tables?: number; rows?: number; reason?: string }
    try {
      result = await verifyBackup(app.config.backupDir, b.backup_id, app.config.dataEncryptionKey)
    } catch (err) {
      if (!(err instanceof BackupError)) throw err
      result = { valid: false, backup_id: b.backup_id, reason: err.message }
    }
    await app.audit(request, { action: 'backup.verified', target_type: 'backup', target_id: b.backup_id, outcome: result.valid ? 'success' : 'failure', details: { reason: result.reason ?? null } })
    return result
  })

  app.post('/:backup_id/restore', {
    ...superAdmin,
    schema: {
      tags,
      summary: 'Restore (202; super_admin, confirm=true). One transaction; the audit log is never rolled back',
      params: IdParams,
      querystring: Confirm,
      body: Type.Object({ tables: Type.Optional(Tables), drop_existing: Type.Boolean({ default: false }), confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      bodyOptional: true,
      response: withErrors({ 202: Type.Object({ restore_id: Type.String(), status: Type.String() }) })
    }
  }, async (request, reply) => {
    requireConfirm(request)
    const b = await found(request.params.backup_id)
    if (b.status !== 'completed') throw new LucidError('INVALID_REQUEST', `Backup is ${b.status}`)
    // Refuse at once what the job would refuse: a missing file, another schema version.
    const m = await readManifest(app.config.backupDir, b.backup_id)
    for (const t of request.body?.tables ?? []) if (!((t.includes('.') ? t : `public.${t}`) in m.tables)) throw new LucidError('INVALID_REQUEST', `Table ${t} is not in this backup`)
    const r = await app.backups.startRestore(b.backup_id, { tables: request.body?.tables, drop_existing: request.body?.drop_existing ?? false }, request.user!.id)
    await app.audit(request, { action: 'backup.restore_requested', target_type: 'backup', target_id: b.backup_id, details: { restore_id: r.restore_id, drop_existing: r.drop_existing, tables: r.tables } })
    return reply.code(202).send({ restore_id: r.restore_id, status: r.status })
  })

  // Under its backup (issue 13): /backups/restores/{id} was ambiguous with /backups/{id}/verify.
  app.get('/:backup_id/restores/:restore_id', { ...admin, schema: { tags, summary: 'Status of a restore of this backup', params: Type.Object({ backup_id: Type.String({ format: 'uuid' }), restore_id: Type.String({ format: 'uuid' }) }), response: withErrors({ 200: RestoreSchema }) } }, async (request) => {
    const r = await app.backups.getRestore(request.params.restore_id)
    if (r === null || r.backup_id !== request.params.backup_id) throw new LucidError('NOT_FOUND', 'Restore not found')
    return toRestore(r)
  })
}

/**
 * /api/v1/backup-schedules (issue 13): its own top-level path, because
 * /backups/schedules/{id} and /backups/{id}/verify are ambiguous to OpenAPI tools.
 */
export async function backupScheduleRoutes(fastify: FastifyInstance): Promise<void> {
  auditReads(fastify, 'backups')
  await scheduleRoutes(fastify, { deprecated: false })
}

async function scheduleRoutes(fastify: FastifyInstance, opts: { deprecated: boolean }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['backups']
  const admin = { onRequest: [app.authenticate, app.requireRole('admin')] }
  const superAdmin = { onRequest: [app.authenticate, app.requireRole('super_admin')] }
  const moved = opts.deprecated ? { deprecated: true, description: 'Deprecated: use the same operation on /api/v1/backup-schedules.' } : {}

  app.get('/', { ...admin, schema: { ...moved, tags, summary: 'Backup schedules', response: withErrors({ 200: Type.Object({ schedules: Type.Array(ScheduleSchema) }) }) } }, async () => ({ schedules: (await app.backups.listSchedules()).map(toSchedule) }))

  app.post('/', {
    ...superAdmin,
    schema: {
      ...moved,
      tags,
      errors: [409], summary: 'Create a schedule (super_admin; 5-field cron, UTC); one instance runs each slot',
      body: Type.Object({
        name: Type.String({ pattern: '^[\\w-]{1,60}$' }),
        cron: Type.String({ maxLength: 100 }),
        tables: Type.Optional(Tables),
        compression: Type.Boolean({ default: true }),
        encryption: Type.Boolean({ default: true }),
        retention_days: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
        enabled: Type.Boolean({ default: true })
      }, { additionalProperties: false }),
      response: withErrors({ 201: ScheduleSchema })
    }
  }, async (request, reply) => {
    const problem = validateCron(request.body.cron)
    if (problem !== null) throw new LucidError('INVALID_REQUEST', `cron: ${problem}`, { details: { field: 'cron' } })
    if (request.body.encryption && app.config.dataEncryptionKey === undefined) throw new LucidError('INVALID_REQUEST', 'encryption requires DATA_ENCRYPTION_KEY')
    // A duplicate name is a unique violation, mapped to 409 by src/errors/domain.ts.
    const row = await app.backups.createSchedule({ ...request.body, tables: request.body.tables ?? null, created_by: request.user!.id })
    await app.audit(request, { action: 'backup.schedule_created', target_type: 'backup_schedule', target_id: row.schedule_id, details: { name: row.name, cron: row.cron } })
    return reply.code(201).send(toSchedule(row))
  })

  if (opts.deprecated) return
  app.delete('/:schedule_id', { ...superAdmin, schema: { tags, summary: 'Delete a schedule (super_admin, confirm=true)', params: Type.Object({ schedule_id: Type.String({ format: 'uuid' }) }), querystring: Confirm, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    requireConfirm(request)
    if (!(await app.backups.deleteSchedule(request.params.schedule_id))) throw new LucidError('NOT_FOUND', 'Schedule not found')
    await app.audit(request, { action: 'backup.schedule_deleted', target_type: 'backup_schedule', target_id: request.params.schedule_id })
    return reply.code(204).send(null)
  })

}

