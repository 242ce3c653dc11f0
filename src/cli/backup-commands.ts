/**
 * `lucid-gateway backup create|list|verify|restore` (issue 8). Create and list go through the
 * backup service, so the CLI's backups are in the catalogue the API and the metrics read.
 */
import { parseArgs } from 'node:util'
import { freezeConfig, type Config } from '../config.js'
import { ensureEmbeddedSecrets } from '../secrets.js'
import type { Db } from '../data/db.js'
import { createAuditRepository } from '../data/repositories/audit.js'
import { createBackupsRepository } from '../data/repositories/backups.js'
import { createBackupSchedulesRepository } from '../data/repositories/backup-schedules.js'
import { createTableDataRepository } from '../data/repositories/table-data.js'
import { restoreBackup, verifyBackup } from '../backup/backup.js'
import { createBackupService } from '../backup/service.js'
import { ACTOR, UsageError, config, withDb } from './context.js'
import { progress } from './progress.js'

function keyOf(cfg: Readonly<Config>): Buffer | undefined {
  return cfg.dataEncryptionKey
}

function backupService(db: Db, cfg: Readonly<Config>) {
  const audit = createAuditRepository(db)
  return createBackupService({
    backups: createBackupsRepository(db),
    schedules: createBackupSchedulesRepository(db),
    tableData: createTableDataRepository(db),
    dir: cfg.backupDir,
    key: keyOf(cfg),
    now: Date.now,
    audit: (e) => audit.append({ ...ACTOR, ...e, details: { ...e.details, via: 'cli' } }),
    log: { info: () => undefined, error: () => undefined }
  })
}

export async function cmdBackup(sub: string | undefined, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tables: { type: 'string' },
      'no-compression': { type: 'boolean' },
      'no-encryption': { type: 'boolean' },
      'retention-days': { type: 'string' },
      confirm: { type: 'boolean' }
    }
  })
  if (sub === 'create') {
    const retention = values['retention-days'] === undefined ? 30 : Number(values['retention-days'])
    if (!Number.isInteger(retention) || retention < 1 || retention > 3650)
      throw new UsageError('--retention-days must be an integer between 1 and 3650')
    await withDb(async (db, cfg) => {
      const bar = progress('backup')
      // Through the backup service, so the backup is in the catalogue the API and the metrics read.
      const b = await backupService(db, cfg).run(
        {
          name: values.name ?? `cli-${new Date().toISOString().replace(/[:.]/g, '-')}`,
          tables: values.tables
            ?.split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          compression: values['no-compression'] !== true,
          encryption: values['no-encryption'] !== true,
          retention_days: retention
        },
        null,
        (p) => bar.update(p.tableIndex + (p.totalRows === 0 ? 1 : p.rows / p.totalRows), p.tableCount, p.table)
      )
      if (b.status !== 'completed') throw new Error(`backup ${b.backup_id} failed: ${b.error ?? 'unknown error'}`)
      const counts = Object.values(b.row_counts ?? {})
      bar.stop(
        `backup ${b.backup_id}: ${counts.length} tables, ${counts.reduce((a, n) => a + n, 0)} rows, ${b.size_bytes} bytes${b.encryption ? ', encrypted' : ''} → ${cfg.backupDir}`
      )
    })
    return
  }
  if (sub === 'list') {
    await withDb(async (db, cfg) => {
      const { rows } = await backupService(db, cfg).list({ page: 1, limit: 100 })
      if (rows.length === 0) console.log(`no backups in ${cfg.backupDir}`)
      for (const b of rows)
        console.log(
          `${b.backup_id}  ${new Date(b.created_at).toISOString()}  ${b.status}  ${b.name}  ${b.size_bytes ?? 0} bytes  schema ${b.schema_version ?? '-'}${b.encryption ? '  encrypted' : ''}`
        )
    })
    return
  }
  const cfg = freezeConfig(await ensureEmbeddedSecrets(config(), { warn: () => undefined }))
  const id = positionals[0]
  if (id === undefined) throw new UsageError(`backup ${sub ?? ''} needs <backup_id>`)
  if (sub === 'verify') {
    const r = await verifyBackup(cfg.backupDir, id, keyOf(cfg))
    console.log(
      `backup ${id}: valid (${r.tables} tables, ${r.rows} rows; checksums, encryption tag and row counts match)`
    )
    return
  }
  if (sub === 'restore') {
    if (values.confirm !== true)
      throw new UsageError('restore replaces the content of every backed-up table: add --confirm')
    await withDb(async (db) => {
      const bar = progress('restore')
      const r = await restoreBackup(createTableDataRepository(db), cfg.backupDir, id, keyOf(cfg), {
        onProgress: (p) => bar.update(p.rows, p.totalRows, p.table)
      })
      await createAuditRepository(db).append({
        ...ACTOR,
        action: 'backup.restored',
        target_type: 'backup',
        target_id: id,
        details: { rows: r.rows, via: 'cli' }
      })
      bar.stop(`restored backup ${id}: ${r.tables} tables, ${r.rows} rows`)
    })
    return
  }
  throw new UsageError('backup needs create, list, verify <id> or restore <id> --confirm')
}
