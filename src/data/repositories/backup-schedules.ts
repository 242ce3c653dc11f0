/**
 * Scheduled backups (table backup_schedules, issue 7). A schedule's due slot is taken with a
 * conditional UPDATE (claimSlot), so two instances never run the same slot.
 */
import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db.js'

export interface ScheduleRow {
  schedule_id: string
  name: string
  cron: string
  tables: string[] | null
  compression: boolean
  encryption: boolean
  retention_days: number
  enabled: boolean
  last_run_at: Date | null
  created_by: string | null
  created_at: Date
}

export type NewSchedule = Omit<ScheduleRow, 'schedule_id' | 'created_at'>

export function createBackupSchedulesRepository(db: Queryable) {
  return {
    async list(): Promise<ScheduleRow[]> {
      return (await db.query<ScheduleRow>('SELECT * FROM backup_schedules ORDER BY name')).rows
    },

    async create(s: NewSchedule): Promise<ScheduleRow> {
      const { rows } = await db.query<ScheduleRow>(
        `INSERT INTO backup_schedules (schedule_id, name, cron, tables, compression, encryption, retention_days, enabled, last_run_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [
          randomUUID(),
          s.name,
          s.cron,
          s.tables,
          s.compression,
          s.encryption,
          s.retention_days,
          s.enabled,
          s.last_run_at,
          s.created_by
        ]
      )
      return rows[0]
    },

    async delete(id: string): Promise<boolean> {
      return (await db.query('DELETE FROM backup_schedules WHERE schedule_id = $1', [id])).rowCount > 0
    },

    /** Takes the slot starting at `slot` for this caller; false when it was taken already. */
    async claimSlot(id: string, slot: Date): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE backup_schedules SET last_run_at = $2 WHERE schedule_id = $1 AND (last_run_at IS NULL OR last_run_at < $2) RETURNING schedule_id',
        [id, slot]
      )
      return rowCount > 0
    }
  }
}
export type BackupSchedulesRepository = ReturnType<typeof createBackupSchedulesRepository>
