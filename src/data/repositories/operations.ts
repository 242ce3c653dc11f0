/** Read-only queries behind the operator dashboard's chain and jobs views (issue 18). */
import type { Queryable } from '../db.js'

export interface JobRunRow {
  name: string
  running: boolean
  last_started_at: Date | null
  last_finished_at: Date | null
  last_error: string | null
  run_count: number
  failure_count: number
}

export interface AnchorBacklog {
  /** Manifests whose anchor is requested and not yet confirmed or failed. */
  pending: number
  /** Of those, how many have no transaction on lucid_blocks yet (submission failing). */
  unsubmitted: number
  oldest_requested_at: Date | null
  /** The newest submission error, when the last attempt failed. */
  last_error: string | null
}

export function createOperationsRepository(db: Queryable) {
  return {
    async anchorBacklog(): Promise<AnchorBacklog> {
      type Row = { pending: number; unsubmitted: number; oldest: Date | null; last_error: string | null }
      const { rows } = await db.query<Row>(
        `SELECT count(*)::int AS pending,
                count(*) FILTER (WHERE anchor_txid IS NULL)::int AS unsubmitted,
                min(anchor_requested_at) AS oldest,
                (SELECT anchor_error FROM manifests WHERE anchor_status = 'pending' AND anchor_error IS NOT NULL
                  ORDER BY anchor_requested_at DESC LIMIT 1) AS last_error
           FROM manifests WHERE anchor_status = 'pending'`
      )
      const r = rows[0]
      const [pending, unsubmitted] = [Number(r.pending), Number(r.unsubmitted)]
      return { pending, unsubmitted, oldest_requested_at: r.oldest, last_error: r.last_error }
    },
    /** When the local copy of lucid_blocks last gained a block. */
    async lastBlockSyncedAt(): Promise<Date | null> {
      const { rows } = await db.query<{ at: Date | null }>('SELECT max(synced_at) AS at FROM blocks')
      return rows[0].at
    },
    /** The shared (claimed) background jobs and their last runs; per-instance jobs are not recorded. */
    async jobRuns(): Promise<JobRunRow[]> {
      const { rows } = await db.query<JobRunRow>(
        `SELECT name, (locked_until IS NOT NULL AND locked_until > now()) AS running, last_started_at, last_finished_at,
                last_error, run_count, failure_count
           FROM job_runs ORDER BY name`
      )
      return rows.map((r) => ({ ...r, run_count: Number(r.run_count), failure_count: Number(r.failure_count) }))
    }
  }
}

export type OperationsRepository = ReturnType<typeof createOperationsRepository>
