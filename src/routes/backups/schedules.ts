/** Backup schedules: /api/v1/backup-schedules, and the deprecated /api/v1/backups/schedules (index.ts). */
import type { FastifyInstance } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { validateCron } from '../../jobs/job-runner.js'
import { auditReads } from '../shared/audit-reads.js'
import { requireConfirm } from '../shared/request.js'
import { confirmedDeleteSchema, createSchema } from '../shared/schema.js'
import { CreateScheduleSchema, ScheduleListSchema, ScheduleParamsSchema, ScheduleSchema, toSchedule } from './schema.js'

/**
 * /api/v1/backup-schedules (issue 13): its own top-level path, because
 * /backups/schedules/{id} and /backups/{id}/verify are ambiguous to OpenAPI tools.
 */
export async function backupScheduleRoutes(fastify: FastifyInstance): Promise<void> {
  auditReads(fastify, 'backups')
  await scheduleRoutes(fastify, { deprecated: false })
}

/** The schedule routes, mounted at both paths; the deprecated mount has no DELETE and says where to go instead. */
export async function scheduleRoutes(fastify: FastifyInstance, opts: { deprecated: boolean }): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'backups')
  const moved = opts.deprecated
    ? { deprecated: true, description: 'Deprecated: use the same operation on /api/v1/backup-schedules.' }
    : {}

  app.get(
    '/',
    admin({ ...moved, summary: 'Backup schedules', response: withErrors({ 200: ScheduleListSchema }) }),
    async () => ({ schedules: (await app.services.backups.listSchedules()).map(toSchedule) })
  )

  app.post(
    '/',
    superAdmin({
      ...moved,
      ...createSchema(
        'Create a schedule (super_admin; 5-field cron, UTC); one instance runs each slot',
        CreateScheduleSchema,
        ScheduleSchema
      )
    }),
    async (request, reply) => {
      const problem = validateCron(request.body.cron)
      if (problem !== null) throw new LucidError('INVALID_REQUEST', `cron: ${problem}`, { details: { field: 'cron' } })
      if (request.body.encryption && app.config.dataEncryptionKey === undefined)
        throw new LucidError('INVALID_REQUEST', 'encryption requires DATA_ENCRYPTION_KEY')
      // A duplicate name is a unique violation, mapped to 409 by src/errors/domain.ts.
      const row = await app.services.backups.createSchedule({
        ...request.body,
        tables: request.body.tables ?? null,
        created_by: request.user!.id
      })
      await app.audit(request, {
        action: 'backup.schedule_created',
        target_type: 'backup_schedule',
        target_id: row.schedule_id,
        details: { name: row.name, cron: row.cron }
      })
      return reply.code(201).send(toSchedule(row))
    }
  )

  if (opts.deprecated) return
  app.delete(
    '/:schedule_id',
    superAdmin(confirmedDeleteSchema('Delete a schedule (super_admin, confirm=true)', ScheduleParamsSchema)),
    async (request, reply) => {
      requireConfirm(request)
      if (!(await app.services.backups.deleteSchedule(request.params.schedule_id)))
        throw new LucidError('NOT_FOUND', 'Schedule not found')
      await app.audit(request, {
        action: 'backup.schedule_deleted',
        target_type: 'backup_schedule',
        target_id: request.params.schedule_id
      })
      return reply.code(204).send(null)
    }
  )
}
