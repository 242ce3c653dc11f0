/**
 * The backup format (see backup.ts): constants, manifest and option types, the error, the key
 * derivation, which tables a backup covers and the manifest on disk. Shared by create.ts and
 * restore.ts; the rows themselves move through src/data/repositories/table-data.ts.
 */
import { hkdfSync } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { TableCatalog } from '../data/repositories/table-data.js'

export const MAGIC = Buffer.from('LUCIDBK1')
export const IV_BYTES = 12
export const TAG_BYTES = 16
export const FETCH_ROWS = 1_000
/** Gateway schemas a backup covers: its own tables and admin-created ones. */
export const SCHEMAS = ['public', 'user_data']
/** Recorded as the schema version instead of being copied. */
const EXCLUDED = new Set(['public.schema_migrations'])
/**
 * Backed up but never restored: a restore appends to the audit log, it does not rewind it; the
 * backup catalogue and job bookkeeping describe the present (the restore in progress among them).
 */
export const NEVER_RESTORED = new Set([
  'public.audit_log',
  'public.backups',
  'public.backup_restores',
  'public.job_runs'
])

export interface TableSummary {
  rows: number
  sha256: string
}

export interface BackupManifest {
  format: 'lucid-backup'
  format_version: 1
  backup_id: string
  name: string
  type: 'full'
  created_at: string
  completed_at: string
  schema_version: number
  database: 'postgresql' | 'embedded'
  compression: boolean
  encryption: boolean
  retention_days: number
  expires_at: string
  tables: Record<string, TableSummary>
  file: string
  size_bytes: number
  sha256: string
}

/** The pseudo-table holding the state store's keys in a backup. */
export const STATE_TABLE = 'state.keyspace'

export interface StateEntry {
  k: string
  v: string
  /** Remaining TTL when backed up, ms (null: no expiry). */
  ttl: number | null
}

export interface BackupOptions {
  /** The state store's keys to include (full backups only). */
  state?: { entries(): AsyncIterable<StateEntry> }
  dir: string
  name: string
  /** Qualified (`schema.table`) or bare names; default every table. */
  tables?: string[]
  compression?: boolean
  encryption?: boolean
  retentionDays?: number
  /** DATA_ENCRYPTION_KEY; required when encryption is on. */
  key?: Buffer
  id?: string
  onProgress?: (p: { table: string; rows: number; totalRows: number; tableIndex: number; tableCount: number }) => void
}

export class BackupError extends Error {
  constructor(
    readonly code: 'NO_KEY' | 'NOT_FOUND' | 'CORRUPT' | 'SCHEMA_MISMATCH' | 'BAD_REQUEST',
    message: string
  ) {
    super(message)
    this.name = 'BackupError'
  }
}

export function backupKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'lucid-backup-v1', 32))
}

/** Every table a backup covers, `schema.table`, in an order that respects foreign keys. */
export async function listTables(db: TableCatalog): Promise<string[]> {
  return (await db.tables(SCHEMAS)).filter((n) => !EXCLUDED.has(n))
}

const ID_RE = /^[0-9a-f-]{36}$/

export async function readManifest(dir: string, id: string): Promise<BackupManifest> {
  if (!ID_RE.test(id)) throw new BackupError('NOT_FOUND', `no backup "${id}"`)
  try {
    return JSON.parse(await readFile(path.join(dir, `${id}.manifest.json`), 'utf8')) as BackupManifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new BackupError('NOT_FOUND', `no backup "${id}" in ${dir}`)
    throw new BackupError('CORRUPT', `backup ${id}: manifest unreadable: ${(err as Error).message}`)
  }
}

export async function deleteBackup(dir: string, id: string): Promise<void> {
  const m = await readManifest(dir, id)
  await rm(path.join(dir, m.file), { force: true })
  await rm(path.join(dir, `${id}.manifest.json`), { force: true })
}
