/**
 * Backups as background work (issue 7): a request records a pending backup (or restore) and gets
 * 202; this instance runs it and records the outcome in the database, so any instance answers its
 * status. Scheduled backups are in schedules.ts, the row types in rows.ts.
 */
import type { AuditEntry } from '../data/repositories/audit.js'
import type { BackupFilter, BackupRow, BackupsRepository, RestoreRow } from '../data/repositories/backups.js'
import type { BackupSchedulesRepository } from '../data/repositories/backup-schedules.js'
import type { TableDataRepository } from '../data/repositories/table-data.js'
import type { StateStore } from '../stores/state-store.js'
import {
  BackupError,
  createBackup,
  deleteBackup,
  restoreBackup,
  type BackupManifest,
  type BackupOptions
} from './backup.js'
import type { BackupRequest } from './rows.js'
import { createBackupSchedules } from './schedules.js'
import { stateStoreSource } from './state-source.js'

export type { BackupRequest } from './rows.js'
export type { BackupRow, RestoreRow } from '../data/repositories/backups.js'
export type { ScheduleRow } from '../data/repositories/backup-schedules.js'

export interface BackupServiceOptions {
  /** The catalogue: backups and restores (tables backups, backup_restores). */
  backups: BackupsRepository
  schedules: BackupSchedulesRepository
  /** What a backup reads and a restore writes: every table, in one transaction each. */
  tableData: TableDataRepository
  /** The state store whose string keys full backups include and restores bring back (unprotected only). */
  stateStore?: StateStore
  dir: string
  key: Buffer | undefined
  now: () => number
  audit: (entry: AuditEntry) => Promise<void>
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void }
}

export function createBackupService(opts: BackupServiceOptions) {
  const { backups: catalogue, tableData } = opts
  const inFlight = new Set<Promise<void>>()
  const state = opts.stateStore === undefined ? undefined : stateStoreSource(opts.stateStore)
  const track = (p: Promise<void>) => {
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }

  async function execute(row: BackupRow, onProgress?: BackupOptions['onProgress']): Promise<void> {
    await catalogue.markRunning(row.backup_id)
    try {
      const m: BackupManifest = await createBackup(tableData, {
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
      await catalogue.markCompleted(row.backup_id, {
        size_bytes: m.size_bytes,
        sha256: m.sha256,
        schema_version: m.schema_version,
        row_counts: counts
      })
    } catch (err) {
      opts.log.error({ err, backup_id: row.backup_id }, 'backup failed')
      await catalogue.markFailed(row.backup_id, (err as Error).message).catch(() => undefined)
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
    return catalogue.create({
      name: req.name,
      tables: req.tables ?? null,
      compression: req.compression,
      encryption: req.encryption,
      retention_days: req.retention_days,
      schedule_id: req.schedule_id ?? null,
      created_by: actor,
      expires_at: new Date(opts.now() + req.retention_days * 86_400_000)
    })
  }

  /** Records a pending backup and starts it in the background. */
  async function start(req: BackupRequest, actor: string | null): Promise<BackupRow> {
    const row = await record(req, actor)
    track(execute(row))
    return row
  }
  const schedules = createBackupSchedules({ schedules: opts.schedules, now: opts.now, start })

  return {
    start,

    /** Records a backup and runs it to the end (the CLI); the row tells how it went. */
    async run(req: BackupRequest, actor: string | null, onProgress?: BackupOptions['onProgress']): Promise<BackupRow> {
      const row = await record(req, actor)
      await execute(row, onProgress)
      return (await this.get(row.backup_id)) as BackupRow
    },

    get: (id: string): Promise<BackupRow | null> => catalogue.get(id),

    list: (f: BackupFilter): Promise<{ rows: BackupRow[]; total: number }> => catalogue.list(f),

    async remove(id: string): Promise<boolean> {
      if (!(await catalogue.softDelete(id))) return false
      await deleteBackup(opts.dir, id).catch((err: unknown) => {
        if (!(err instanceof BackupError && err.code === 'NOT_FOUND')) throw err
      })
      return true
    },

    /** Deletes every completed backup past its retention; returns how many. */
    async cleanup(): Promise<number> {
      let n = 0
      for (const id of await catalogue.expiredIds(new Date(opts.now()))) if (await this.remove(id)) n++
      if (n > 0)
        await opts.audit({ action: 'backup.retention_cleanup', target_type: 'backup', details: { deleted: n } })
      return n
    },

    async startRestore(
      backupId: string,
      req: { tables?: string[]; drop_existing: boolean },
      actor: string | null
    ): Promise<RestoreRow> {
      const row = await catalogue.createRestore({
        backup_id: backupId,
        tables: req.tables ?? null,
        drop_existing: req.drop_existing,
        created_by: actor
      })
      track(
        (async () => {
          await catalogue.markRestoreRunning(row.restore_id)
          try {
            const r = await restoreBackup(tableData, opts.dir, backupId, opts.key, {
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
            await catalogue.markRestoreCompleted(row.restore_id, r.inserted)
          } catch (err) {
            opts.log.error({ err, restore_id: row.restore_id }, 'restore failed; nothing was changed')
            await catalogue.markRestoreFailed(row.restore_id, (err as Error).message).catch(() => undefined)
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

    getRestore: (id: string): Promise<RestoreRow | null> => catalogue.getRestore(id),

    ...schedules,

    /** Resolves when every backup and restore this instance started has finished. */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    }
  }
}

export type BackupService = ReturnType<typeof createBackupService>
