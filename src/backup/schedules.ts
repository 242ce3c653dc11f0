/**
 * Scheduled backups (issue 7): a claimed job calls runSchedules every minute and each schedule's
 * due slot is taken with a conditional UPDATE, so two instances never run the same slot.
 */
import { randomUUID } from 'node:crypto'
import type { Db } from '../data/db.js'
import { currentSlot } from '../jobs/job-runner.js'
import type { BackupRequest, BackupRow, ScheduleRow } from './rows.js'

export interface ScheduleDeps {
  db: Db
  now: () => number
  /** Records a pending backup and starts it in the background (the backup service's start). */
  start: (req: BackupRequest, actor: string | null) => Promise<BackupRow>
}

export function createBackupSchedules({ db, now, start }: ScheduleDeps) {
  async function listSchedules(): Promise<ScheduleRow[]> {
    return (await db.query<ScheduleRow>('SELECT * FROM backup_schedules ORDER BY name')).rows
  }

  return {
    listSchedules,

    async createSchedule(s: Omit<ScheduleRow, 'schedule_id' | 'last_run_at' | 'created_at'>): Promise<ScheduleRow> {
      // The current slot counts as done: a new schedule first fires at its next slot.
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
          new Date(currentSlot({ cron: s.cron }, now())),
          s.created_by
        ]
      )
      return rows[0]
    },

    async deleteSchedule(id: string): Promise<boolean> {
      return (await db.query('DELETE FROM backup_schedules WHERE schedule_id = $1', [id])).rowCount > 0
    },

    /** Starts a backup for every schedule whose slot is due; each slot is taken by exactly one caller. */
    async runSchedules(): Promise<string[]> {
      const started: string[] = []
      for (const s of await listSchedules()) {
        if (!s.enabled) continue
        const slot = new Date(currentSlot({ cron: s.cron }, now()))
        const claimed = await db.query(
          'UPDATE backup_schedules SET last_run_at = $2 WHERE schedule_id = $1 AND (last_run_at IS NULL OR last_run_at < $2) RETURNING schedule_id',
          [s.schedule_id, slot]
        )
        if (claimed.rowCount === 0) continue
        const b = await start(
          {
            name: `${s.name}-${slot.toISOString().replace(/[:.]/g, '-')}`,
            tables: s.tables ?? undefined,
            compression: s.compression,
            encryption: s.encryption,
            retention_days: s.retention_days,
            schedule_id: s.schedule_id
          },
          null
        )
        started.push(b.backup_id)
      }
      return started
    }
  }
}
