/**
 * Reads and retention on the backup catalogue outside the backup service: the metrics gauge and the
 * yearly purge of finished restore records. The service (src/backup/service.ts) owns the rest.
 */
import type { Queryable } from '../db.js'

export function createBackupsRepository(db: Queryable) {
  return {
    /** Completion time of the newest completed backup, in seconds since the epoch; 0 when none. */
    async lastCompletedEpochSeconds(): Promise<number> {
      const { rows } = await db.query<{ t: number | null }>(
        "SELECT extract(epoch FROM max(completed_at))::float8 AS t FROM backups WHERE status = 'completed'"
      )
      return Number(rows[0].t ?? 0)
    },
    /** Deletes completed or failed restore records finished before `cutoff`; returns how many. */
    async purgeFinishedRestores(cutoff: Date): Promise<number> {
      const { rowCount } = await db.query(
        "DELETE FROM backup_restores WHERE completed_at < $1 AND status IN ('completed', 'failed')",
        [cutoff]
      )
      return rowCount
    }
  }
}
export type BackupsRepository = ReturnType<typeof createBackupsRepository>
