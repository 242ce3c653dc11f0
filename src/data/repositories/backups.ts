/**
 * The backup catalogue (tables backups and backup_restores, issue 7): the backup service records
 * each backup and restore here and reads them back for the API; the metrics gauge and the yearly
 * purge of finished restore records read it too. The files themselves are src/backup's.
 */
import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db.js'

export interface BackupRow {
  backup_id: string
  name: string
  type: string
  status: 'pending' | 'running' | 'completed' | 'failed' | 'deleted'
  tables: string[] | null
  compression: boolean
  encryption: boolean
  retention_days: number
  schedule_id: string | null
  size_bytes: number | null
  sha256: string | null
  schema_version: number | null
  row_counts: Record<string, number> | null
  error: string | null
  created_by: string | null
  created_at: Date
  started_at: Date | null
  completed_at: Date | null
  expires_at: Date
}

export interface RestoreRow {
  restore_id: string
  backup_id: string
  status: 'pending' | 'running' | 'completed' | 'failed'
  tables: string[] | null
  drop_existing: boolean
  rows_restored: number | null
  error: string | null
  created_by: string | null
  created_at: Date
  completed_at: Date | null
}

/** A pending full backup as recorded before it runs; the id is generated here. */
export type NewBackup = Pick<
  BackupRow,
  'name' | 'tables' | 'compression' | 'encryption' | 'retention_days' | 'schedule_id' | 'created_by' | 'expires_at'
>

/** What a completed backup's manifest adds to its row. */
export type BackupOutcome = Pick<BackupRow, 'size_bytes' | 'sha256' | 'schema_version'> & {
  row_counts: Record<string, number>
}

export interface BackupFilter {
  /** 1-based page of `limit` rows, newest first. */
  page: number
  limit: number
  status?: string
  type?: string
}

export function createBackupsRepository(db: Queryable) {
  const setStatus = async (table: 'backups' | 'backup_restores', sets: string, id: string, extra: unknown[] = []) => {
    const key = table === 'backups' ? 'backup_id' : 'restore_id'
    await db.query(`UPDATE ${table} SET ${sets} WHERE ${key} = $1`, [id, ...extra])
  }

  return {
    async create(b: NewBackup): Promise<BackupRow> {
      const { rows } = await db.query<BackupRow>(
        `INSERT INTO backups (backup_id, name, type, tables, compression, encryption, retention_days, schedule_id, created_by, expires_at)
         VALUES ($1, $2, 'full', $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          randomUUID(),
          b.name,
          b.tables,
          b.compression,
          b.encryption,
          b.retention_days,
          b.schedule_id,
          b.created_by,
          b.expires_at
        ]
      )
      return rows[0]
    },
    markRunning: (id: string) => setStatus('backups', "status = 'running', started_at = now()", id),
    markCompleted: (id: string, m: BackupOutcome) =>
      setStatus(
        'backups',
        "status = 'completed', completed_at = now(), size_bytes = $2, sha256 = $3, schema_version = $4, row_counts = $5::jsonb",
        id,
        [m.size_bytes, m.sha256, m.schema_version, JSON.stringify(m.row_counts)]
      ),
    markFailed: (id: string, error: string) =>
      setStatus('backups', "status = 'failed', completed_at = now(), error = $2", id, [error]),

    /** A backup that was not deleted, or null. */
    async get(id: string): Promise<BackupRow | null> {
      const { rows } = await db.query<BackupRow>("SELECT * FROM backups WHERE backup_id = $1 AND status <> 'deleted'", [
        id
      ])
      return rows[0] ?? null
    },

    /** One page of the backups that were not deleted, and how many match the filter. */
    async list(f: BackupFilter): Promise<{ rows: BackupRow[]; total: number }> {
      const where = ["status <> 'deleted'"]
      const params: unknown[] = []
      if (f.status !== undefined) where.push(`status = $${params.push(f.status)}`)
      if (f.type !== undefined) where.push(`type = $${params.push(f.type)}`)
      const w = where.join(' AND ')
      const page = [...params, f.limit, (f.page - 1) * f.limit]
      const [r, c] = await Promise.all([
        db.query<BackupRow>(
          `SELECT * FROM backups WHERE ${w} ORDER BY created_at DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
          page
        ),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM backups WHERE ${w}`, params)
      ])
      return { rows: r.rows, total: Number(c.rows[0].n) }
    },

    /** Marks a finished (completed or failed) backup deleted; false when there is none. */
    async softDelete(id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        "UPDATE backups SET status = 'deleted' WHERE backup_id = $1 AND status IN ('completed', 'failed')",
        [id]
      )
      return rowCount > 0
    },

    /** Finished backups whose retention ended before `now`. */
    async expiredIds(now: Date): Promise<string[]> {
      const { rows } = await db.query<{ backup_id: string }>(
        "SELECT backup_id FROM backups WHERE status IN ('completed', 'failed') AND expires_at < $1",
        [now]
      )
      return rows.map((r) => r.backup_id)
    },

    /** Completion time of the newest completed backup, in seconds since the epoch; 0 when none. */
    async lastCompletedEpochSeconds(): Promise<number> {
      const { rows } = await db.query<{ t: number | null }>(
        "SELECT extract(epoch FROM max(completed_at))::float8 AS t FROM backups WHERE status = 'completed'"
      )
      return Number(rows[0].t ?? 0)
    },

    async createRestore(
      r: Pick<RestoreRow, 'backup_id' | 'tables' | 'drop_existing' | 'created_by'>
    ): Promise<RestoreRow> {
      const { rows } = await db.query<RestoreRow>(
        'INSERT INTO backup_restores (restore_id, backup_id, tables, drop_existing, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [randomUUID(), r.backup_id, r.tables, r.drop_existing, r.created_by]
      )
      return rows[0]
    },
    markRestoreRunning: (id: string) => setStatus('backup_restores', "status = 'running'", id),
    markRestoreCompleted: (id: string, rowsRestored: number) =>
      setStatus('backup_restores', "status = 'completed', completed_at = now(), rows_restored = $2", id, [
        rowsRestored
      ]),
    markRestoreFailed: (id: string, error: string) =>
      setStatus('backup_restores', "status = 'failed', completed_at = now(), error = $2", id, [error]),

    async getRestore(id: string): Promise<RestoreRow | null> {
      const { rows } = await db.query<RestoreRow>('SELECT * FROM backup_restores WHERE restore_id = $1', [id])
      return rows[0] ?? null
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
