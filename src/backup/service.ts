/**
 * Backups as background work (issue 7): a request records a pending backup (or restore) and gets
 * 202; this instance runs it and records the outcome in the database, so any instance answers its
 * status. Scheduled backups are in schedules.ts, the row types in rows.ts.
 */
import { randomUUID } from 'node:crypto'
import type { Db } from '../data/db.js'
import type { AuditEntry } from '../data/repositories/audit.js'
import type { StateStore } from '../stores/state-store.js'
import {
  BackupError,
  createBackup,
  deleteBackup,
  restoreBackup,
  type BackupManifest,
  type BackupOptions
} from './backup.js'
import type { BackupRequest, BackupRow, RestoreRow } from './rows.js'
import { createBackupSchedules } from './schedules.js'
import { stateStoreSource } from './state-source.js'

export type { BackupRequest, BackupRow, RestoreRow, ScheduleRow } from './rows.js'

export interface BackupServiceOptions {
  db: Db
  /** The state store whose string keys full backups include and restores bring back (unprotected only). */
  stateStore?: StateStore
  dir: string
  key: Buffer | undefined
  now: () => number
  audit: (entry: AuditEntry) => Promise<void>
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void }
}

export function createBackupService(opts: BackupServiceOptions) {
  const { db } = opts
  const inFlight = new Set<Promise<void>>()
  const state = opts.stateStore === undefined ? undefined : stateStoreSource(opts.stateStore)
  const track = (p: Promise<void>) => {
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }

  async function execute(row: BackupRow, onProgress?: BackupOptions['onProgress']): Promise<void> {
    await db.query("UPDATE backups SET status = 'running', started_at = now() WHERE backup_id = $1", [row.backup_id])
    try {
      const m: BackupManifest = await createBackup(db, {
        dir: opts.dir,
        id: row.backup_id,
        name: row.name,
        tables: row.tables ?? undefined,
        compression: row.compression,
        encryption: row.encryption,
        retentionDays: row.retention_days,
        key: opts.key,
        state,
        onProgress
      })
      const counts = Object.fromEntries(Object.entries(m.tables).map(([t, s]) => [t, s.rows]))
      await opts.audit({
        action: 'backup.completed',
        target_type: 'backup',
        target_id: row.backup_id,
        details: { size_bytes: m.size_bytes, tables: Object.keys(m.tables).length }
      })
      await db.query(
        "UPDATE backups SET status = 'completed', completed_at = now(), size_bytes = $2, sha256 = $3, schema_version = $4, row_counts = $5::jsonb WHERE backup_id = $1",
        [row.backup_id, m.size_bytes, m.sha256, m.schema_version, JSON.stringify(counts)]
      )
    } catch (err) {
      opts.log.error({ err, backup_id: row.backup_id }, 'backup failed')
      await db
        .query("UPDATE backups SET status = 'failed', completed_at = now(), error = $2 WHERE backup_id = $1", [
          row.backup_id,
          (err as Error).message
        ])
        .catch(() => undefined)
      await opts
        .audit({
          action: 'backup.failed',
          outcome: 'failure',
          target_type: 'backup',
          target_id: row.backup_id,
          details: { error: (err as Error).message }
        })
        .catch(() => undefined)
    }
  }

  async function record(req: BackupRequest, actor: string | null): Promise<BackupRow> {
    if (req.encryption && opts.key === undefined)
      throw new BackupError(
        'NO_KEY',
        'encryption was requested but DATA_ENCRYPTION_KEY is not configured; set it, or ask for encryption=false'
      )
    const { rows } = await db.query<BackupRow>(
      `INSERT INTO backups (backup_id, name, type, tables, compression, encryption, retention_days, schedule_id, created_by, expires_at)
       VALUES ($1, $2, 'full', $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        randomUUID(),
        req.name,
        req.tables ?? null,
        req.compression,
        req.encryption,
        req.retention_days,
        req.schedule_id ?? null,
        actor,
        new Date(opts.now() + req.retention_days * 86_400_000)
      ]
    )
    return rows[0]
  }

  /** Records a pending backup and starts it in the background. */
  async function start(req: BackupRequest, actor: string | null): Promise<BackupRow> {
    const row = await record(req, actor)
    track(execute(row))
    return row
  }
  const schedules = createBackupSchedules({ db, now: opts.now, start })

  return {
    start,

    /** Records a backup and runs it to the end (the CLI); the row tells how it went. */
    async run(req: BackupRequest, actor: string | null, onProgress?: BackupOptions['onProgress']): Promise<BackupRow> {
      const row = await record(req, actor)
      await execute(row, onProgress)
      return (await this.get(row.backup_id)) as BackupRow
    },

    async get(id: string): Promise<BackupRow | null> {
      const { rows } = await db.query<BackupRow>("SELECT * FROM backups WHERE backup_id = $1 AND status <> 'deleted'", [
        id
      ])
      return rows[0] ?? null
    },

    async list(f: {
      page: number
      limit: number
      status?: string
      type?: string
    }): Promise<{ rows: BackupRow[]; total: number }> {
      const where = ["status <> 'deleted'"]
      const params: unknown[] = []
      if (f.status !== undefined) where.push(`status = $${params.push(f.status)}`)
      if (f.type !== undefined) where.push(`type = $${params.push(f.type)}`)
      const w = where.join(' AND ')
      const [r, c] = await Promise.all([
        db.query<BackupRow>(
          `SELECT * FROM backups WHERE ${w} ORDER BY created_at DESC LIMIT ${f.limit} OFFSET ${(f.page - 1) * f.limit}`,
          params
        ),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM backups WHERE ${w}`, params)
      ])
      return { rows: r.rows, total: Number(c.rows[0].n) }
    },

    async remove(id: string): Promise<boolean> {
      const { rows } = await db.query<{ backup_id: string }>(
        "UPDATE backups SET status = 'deleted' WHERE backup_id = $1 AND status IN ('completed', 'failed') RETURNING backup_id",
        [id]
      )
      if (rows.length === 0) return false
      await deleteBackup(opts.dir, id).catch((err: unknown) => {
        if (!(err instanceof BackupError && err.code === 'NOT_FOUND')) throw err
      })
      return true
    },

    /** Deletes every completed backup past its retention; returns how many. */
    async cleanup(): Promise<number> {
      const { rows } = await db.query<{ backup_id: string }>(
        "SELECT backup_id FROM backups WHERE status IN ('completed', 'failed') AND expires_at < $1",
        [new Date(opts.now())]
      )
      let n = 0
      for (const r of rows) if (await this.remove(r.backup_id)) n++
      if (n > 0)
        await opts.audit({ action: 'backup.retention_cleanup', target_type: 'backup', details: { deleted: n } })
      return n
    },

    async startRestore(
      backupId: string,
      req: { tables?: string[]; drop_existing: boolean },
      actor: string | null
    ): Promise<RestoreRow> {
      const { rows } = await db.query<RestoreRow>(
        'INSERT INTO backup_restores (restore_id, backup_id, tables, drop_existing, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [randomUUID(), backupId, req.tables ?? null, req.drop_existing, actor]
      )
      const row = rows[0]
      track(
        (async () => {
          await db.query("UPDATE backup_restores SET status = 'running' WHERE restore_id = $1", [row.restore_id])
          try {
            const r = await restoreBackup(db, opts.dir, backupId, opts.key, {
              tables: req.tables,
              dropExisting: req.drop_existing,
              state
            })
            // Audited before the status flips, so whoever sees "completed" also finds the entry.
            await opts.audit({
              actor_id: actor,
              action: 'backup.restored',
              target_type: 'backup',
              target_id: backupId,
              details: {
                restore_id: row.restore_id,
                rows: r.inserted,
                tables: r.tables,
                state_keys: r.state_keys,
                drop_existing: req.drop_existing
              }
            })
            await db.query(
              "UPDATE backup_restores SET status = 'completed', completed_at = now(), rows_restored = $2 WHERE restore_id = $1",
              [row.restore_id, r.inserted]
            )
          } catch (err) {
            opts.log.error({ err, restore_id: row.restore_id }, 'restore failed; nothing was changed')
            await db
              .query(
                "UPDATE backup_restores SET status = 'failed', completed_at = now(), error = $2 WHERE restore_id = $1",
                [row.restore_id, (err as Error).message]
              )
              .catch(() => undefined)
            await opts
              .audit({
                actor_id: actor,
                action: 'backup.restore_failed',
                outcome: 'failure',
                target_type: 'backup',
                target_id: backupId,
                details: { restore_id: row.restore_id, error: (err as Error).message }
              })
              .catch(() => undefined)
          }
        })()
      )
      return row
    },

    async getRestore(id: string): Promise<RestoreRow | null> {
      const { rows } = await db.query<RestoreRow>('SELECT * FROM backup_restores WHERE restore_id = $1', [id])
      return rows[0] ?? null
    },

    ...schedules,

    /** Resolves when every backup and restore this instance started has finished. */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    }
  }
}

export type BackupService = ReturnType<typeof createBackupService>
