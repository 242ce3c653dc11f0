/**
 * /api/v1/backups (issue 7): admins create, list, inspect and verify backups; super_admins
 * delete, restore and clean up, each with `confirm=true`. Every action is audited.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { pagination, withErrors } from '../../schemas/common.js'
import { BackupError, readManifest, verifyBackup } from '../../backup/backup.js'
import { auditReads } from '../shared/audit-reads.js'
import { requireConfirm } from '../shared/request.js'
import { confirmedDeleteSchema } from '../shared/schema.js'
import {
  BackupAcceptedSchema,
  BackupListQuerySchema,
  BackupListSchema,
  BackupSchema,
  CleanupResultSchema,
  ConfirmSchema,
  CreateBackupSchema,
  IdParamsSchema,
  RestoreAcceptedSchema,
  RestoreParamsSchema,
  RestoreRequestSchema,
  RestoreSchema,
  VerifyResultSchema,
  toBackup,
  toRestore,
  type VerifyResult
} from './schema.js'
import { scheduleRoutes } from './schedules.js'

export { backupScheduleRoutes } from './schedules.js'

export default async function backupRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'backups')
  auditReads(app, 'backups')
  // A backup or restore accepted as background work (202) is audited with what was asked.
  const auditAccepted = (request: FastifyRequest, action: string, backupId: string, details: Record<string, unknown>) =>
    app.audit(request, { action, target_type: 'backup', target_id: backupId, details })

  app.post(
    '/',
    superAdmin({
      summary: 'Start a backup (202; super_admin; poll GET /backups/{id}); every field is optional',
      bodyOptional: true,
      body: CreateBackupSchema,
      response: withErrors({ 202: BackupAcceptedSchema })
    }),
    async (request, reply) => {
      // No body means every default (issue 13), like the CLI's `backup create`.
      const name = request.body.name ?? `backup-${new Date(app.now()).toISOString().replace(/[:.]/g, '-')}`
      const row = await app.services.backups.start({ ...request.body, name }, request.user!.id)
      await auditAccepted(request, 'backup.requested', row.backup_id, {
        name: row.name,
        tables: row.tables,
        encryption: row.encryption
      })
      return reply.code(202).send({ backup_id: row.backup_id, status: row.status })
    }
  )

  app.get(
    '/',
    admin({
      summary: 'Backups, newest first',
      querystring: BackupListQuerySchema,
      response: withErrors({ 200: BackupListSchema })
    }),
    async (request) => {
      const { rows, total } = await app.services.backups.list(request.query)
      return { backups: rows.map(toBackup), pagination: pagination(request.query.page, request.query.limit, total) }
    }
  )

  app.post(
    '/cleanup',
    superAdmin({
      summary: 'Delete backups past their retention (super_admin, confirm=true)',
      querystring: ConfirmSchema,
      response: withErrors({ 200: CleanupResultSchema })
    }),
    async (request) => {
      requireConfirm(request)
      return { deleted: await app.services.backups.cleanup() }
    }
  )

  // The contract's collection path, kept for existing clients; /api/v1/backup-schedules is current.
  await app.register(async (scoped) => scheduleRoutes(scoped, { deprecated: true }), { prefix: '/schedules' })

  const found = async (id: string) => {
    const b = await app.services.backups.get(id)
    if (b === null) throw new LucidError('NOT_FOUND', 'Backup not found')
    return b
  }

  app.get(
    '/:backup_id',
    admin({ summary: 'One backup', params: IdParamsSchema, response: withErrors({ 200: BackupSchema }) }),
    async (request) => toBackup(await found(request.params.backup_id))
  )

  app.delete(
    '/:backup_id',
    superAdmin(confirmedDeleteSchema('Delete a backup and its files (super_admin, confirm=true)', IdParamsSchema)),
    async (request, reply) => {
      requireConfirm(request)
      const b = await found(request.params.backup_id)
      if (!(await app.services.backups.remove(b.backup_id)))
        throw new LucidError(
          'INVALID_REQUEST',
          `Backup is ${b.status}; only completed or failed backups can be deleted`
        )
      await app.audit(request, { action: 'backup.deleted', target_type: 'backup', target_id: b.backup_id })
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/:backup_id/verify',
    superAdmin({
      summary: 'Re-read the backup and check every checksum (super_admin)',
      params: IdParamsSchema,
      response: withErrors({ 200: VerifyResultSchema })
    }),
    async (request) => {
      const b = await found(request.params.backup_id)
      if (b.status !== 'completed') throw new LucidError('INVALID_REQUEST', `Backup is ${b.status}`)
      let result: VerifyResult
      try {
        result = await verifyBackup(app.config.backupDir, b.backup_id, app.config.dataEncryptionKey)
      } catch (err) {
        if (!(err instanceof BackupError)) throw err
        result = { valid: false, backup_id: b.backup_id, reason: err.message }
      }
      await app.audit(request, {
        action: 'backup.verified',
        target_type: 'backup',
        target_id: b.backup_id,
        outcome: result.valid ? 'success' : 'failure',
        details: { reason: result.reason ?? null }
      })
      return result
    }
  )

  app.post(
    '/:backup_id/restore',
    superAdmin({
      summary: 'Restore (202; super_admin, confirm=true). One transaction; the audit log is never rolled back',
      params: IdParamsSchema,
      querystring: ConfirmSchema,
      body: RestoreRequestSchema,
      bodyOptional: true,
      response: withErrors({ 202: RestoreAcceptedSchema })
    }),
    async (request, reply) => {
      requireConfirm(request)
      const b = await found(request.params.backup_id)
      if (b.status !== 'completed') throw new LucidError('INVALID_REQUEST', `Backup is ${b.status}`)
      // Refuse at once what the job would refuse: a missing file, another schema version.
      const m = await readManifest(app.config.backupDir, b.backup_id)
      for (const t of request.body?.tables ?? [])
        if (!((t.includes('.') ? t : `public.${t}`) in m.tables))
          throw new LucidError('INVALID_REQUEST', `Table ${t} is not in this backup`)
      const r = await app.services.backups.startRestore(
        b.backup_id,
        { tables: request.body?.tables, drop_existing: request.body?.drop_existing ?? false },
        request.user!.id
      )
      await auditAccepted(request, 'backup.restore_requested', b.backup_id, {
        restore_id: r.restore_id,
        drop_existing: r.drop_existing,
        tables: r.tables
      })
      return reply.code(202).send({ restore_id: r.restore_id, status: r.status })
    }
  )

  // Under its backup (issue 13): /backups/restores/{id} was ambiguous with /backups/{id}/verify.
  app.get(
    '/:backup_id/restores/:restore_id',
    admin({
      summary: 'Status of a restore of this backup',
      params: RestoreParamsSchema,
      response: withErrors({ 200: RestoreSchema })
    }),
    async (request) => {
      const r = await app.services.backups.getRestore(request.params.restore_id)
      if (r === null || r.backup_id !== request.params.backup_id) throw new LucidError('NOT_FOUND', 'Restore not found')
      return toRestore(r)
    }
  )
}
