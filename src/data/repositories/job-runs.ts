/** The `job_runs` table: one lease per background job, so one instance runs each slot (issue 8). */
import type { Db } from '../db.js'

export function createJobRunsRepository(db: Db) {
  return {
    /** Takes the job's lease for `slot` unless that slot ran already or another lease holds; true when won. */
    async claim(
      name: string,
      slot: number,
      instanceId: string,
      lockedUntilMs: number,
      nowMs: number
    ): Promise<boolean> {
      const { rows } = await db.query(
        `INSERT INTO job_runs (name, last_slot, locked_by, locked_until, last_started_at)
         VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), to_timestamp($5 / 1000.0))
         ON CONFLICT (name) DO UPDATE SET last_slot = EXCLUDED.last_slot, locked_by = EXCLUDED.locked_by,
           locked_until = EXCLUDED.locked_until, last_started_at = EXCLUDED.last_started_at
         WHERE job_runs.last_slot < EXCLUDED.last_slot
           AND (job_runs.locked_until IS NULL OR job_runs.locked_until < EXCLUDED.last_started_at)
         RETURNING name`,
        [name, slot, instanceId, lockedUntilMs, nowMs]
      )
      return rows.length === 1
    },
    /** Releases this instance's lease and counts the run (and the failure, with its message). */
    async finish(name: string, error: string | null, instanceId: string): Promise<void> {
      await db.query(
        `UPDATE job_runs SET locked_until = NULL, last_finished_at = now(), last_error = $2,
           run_count = run_count + 1, failure_count = failure_count + $3
         WHERE name = $1 AND locked_by = $4`,
        [name, error, error === null ? 0 : 1, instanceId]
      )
    }
  }
}
