/**
 * Scheduled backups (issue 7): a claimed job calls runSchedules every minute and each schedule's
 * due slot is taken with a conditional UPDATE, so two instances never run the same slot.
 */
import type { BackupRow } from '../data/repositories/backups.js'
import type { BackupSchedulesRepository, ScheduleRow } from '../data/repositories/backup-schedules.js'
import { currentSlot } from '../jobs/job-runner.js'
import type { BackupRequest } from './rows.js'

export interface ScheduleDeps {
  schedules: BackupSchedulesRepository
  now: () => number
  /** Records a pending backup and starts it in the background (the backup service's start). */
  start: (req: BackupRequest, actor: string | null) => Promise<BackupRow>
}

export function createBackupSchedules({ schedules, now, start }: ScheduleDeps) {
  const listSchedules = (): Promise<ScheduleRow[]> => schedules.list()

  return {
    listSchedules,

    async createSchedule(s: Omit<ScheduleRow, 'schedule_id' | 'last_run_at' | 'created_at'>): Promise<ScheduleRow> {
      // The current slot counts as done: a new schedule first fires at its next slot.
      return schedules.create({ ...s, last_run_at: new Date(currentSlot({ cron: s.cron }, now())) })
    },

    async deleteSchedule(id: string): Promise<boolean> {
      return schedules.delete(id)
    },

    /** Starts a backup for every schedule whose slot is due; each slot is taken by exactly one caller. */
    async runSchedules(): Promise<string[]> {
      const started: string[] = []
      for (const s of await listSchedules()) {
        if (!s.enabled) continue
        const slot = new Date(currentSlot({ cron: s.cron }, now()))
        if (!(await schedules.claimSlot(s.schedule_id, slot))) continue
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
