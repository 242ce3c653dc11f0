/**
 * Reading a backup back (see backup.ts for the format): verification of every checksum, and the
 * restore in one transaction that keeps the present revocations.
 */
import { createDecipheriv, createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { createInterface } from 'node:readline'
import { loadMigrations } from '../data/migrate.js'
import type { TableDataRepository } from '../data/repositories/table-data.js'
import { reapplyCredentials, snapshotCredentials } from './revocations.js'
import {
  BackupError,
  FETCH_ROWS,
  IV_BYTES,
  MAGIC,
  NEVER_RESTORED,
  STATE_TABLE,
  TAG_BYTES,
  backupKey,
  listTables,
  readManifest,
  type BackupManifest,
  type StateEntry
} from './format.js'

/** Streams the rows of a backup after checking the file's checksum; throws CORRUPT on any mismatch. */
async function* readRows(
  dir: string,
  m: BackupManifest,
  key: Buffer | undefined
): AsyncGenerator<{ header?: { schema_version: number; tables: string[] }; t?: string; r?: Record<string, unknown> }> {
  const file = path.join(dir, m.file)
  const st = await stat(file).catch(() => undefined)
  if (st === undefined) throw new BackupError('CORRUPT', `backup ${m.backup_id}: file ${m.file} is missing`)
  if (st.size !== m.size_bytes)
    throw new BackupError(
      'CORRUPT',
      `backup ${m.backup_id}: size ${st.size} does not match the manifest (${m.size_bytes})`
    )
  const h = createHash('sha256')
  await pipeline(
    createReadStream(file),
    new Transform({
      transform: (c: Buffer, _e, cb) => {
        h.update(c)
        cb()
      }
    })
  )
  if (h.digest('hex') !== m.sha256)
    throw new BackupError('CORRUPT', `backup ${m.backup_id}: SHA-256 does not match the manifest`)
  let source: Readable
  if (m.encryption) {
    if (key === undefined)
      throw new BackupError('NO_KEY', 'the backup is encrypted and DATA_ENCRYPTION_KEY is not configured')
    const fh = await open(file, 'r')
    const head = Buffer.alloc(MAGIC.length + IV_BYTES)
    const tag = Buffer.alloc(TAG_BYTES)
    await fh.read(head, 0, head.length, 0)
    await fh.read(tag, 0, TAG_BYTES, st.size - TAG_BYTES)
    await fh.close()
    if (!head.subarray(0, MAGIC.length).equals(MAGIC))
      throw new BackupError('CORRUPT', `backup ${m.backup_id}: not a Lucid backup file`)
    const decipher = createDecipheriv('aes-256-gcm', backupKey(key), head.subarray(MAGIC.length))
    decipher.setAAD(MAGIC)
    decipher.setAuthTag(tag)
    source = createReadStream(file, { start: head.length, end: st.size - TAG_BYTES - 1 }).pipe(decipher)
    decipher.on('error', () => undefined) // surfaced through the line reader below
  } else {
    source = createReadStream(file)
  }
  if (m.compression) {
    const gunzip = createGunzip()
    source.on('error', (e) => gunzip.destroy(e))
    source = source.pipe(gunzip)
  }
  const sums = new Map<string, { h: ReturnType<typeof createHash>; n: number }>()
  try {
    let first = true
    for await (const line of createInterface({ input: source, crlfDelay: Infinity })) {
      if (line === '') continue
      const obj = JSON.parse(line) as {
        t?: string
        r?: Record<string, unknown>
        schema_version?: number
        tables?: string[]
      }
      if (first) {
        first = false
        if (obj.schema_version !== m.schema_version)
          throw new BackupError('CORRUPT', `backup ${m.backup_id}: header does not match the manifest`)
        yield { header: { schema_version: obj.schema_version, tables: obj.tables ?? [] } }
        continue
      }
      const t = obj.t as string
      let s = sums.get(t)
      if (s === undefined) sums.set(t, (s = { h: createHash('sha256'), n: 0 }))
      // Rows are hashed as PostgreSQL printed them: re-serialise the "r" member exactly.
      const raw = line.slice(line.indexOf(',"r":') + 5, -1)
      s.h.update(raw).update('\n')
      s.n++
      yield { t, r: obj.r }
    }
  } catch (err) {
    if (err instanceof BackupError) throw err
    throw new BackupError(
      'CORRUPT',
      `backup ${m.backup_id}: cannot be read (${(err as Error).message}); wrong DATA_ENCRYPTION_KEY or a damaged file`
    )
  }
  for (const [t, want] of Object.entries(m.tables)) {
    const got = sums.get(t)
    const sha = got?.h.digest('hex') ?? createHash('sha256').digest('hex')
    if ((got?.n ?? 0) !== want.rows || sha !== want.sha256)
      throw new BackupError(
        'CORRUPT',
        `backup ${m.backup_id}: table ${t} does not match its checksum (${got?.n ?? 0} rows, manifest ${want.rows})`
      )
  }
}

export interface VerifyResult {
  backup_id: string
  valid: true
  tables: number
  rows: number
}

/** Reads the whole backup: file checksum, decryption (GCM tag), decompression, per-table checksums. */
export async function verifyBackup(dir: string, id: string, key: Buffer | undefined): Promise<VerifyResult> {
  const m = await readManifest(dir, id)
  let rows = 0
  for await (const item of readRows(dir, m, key)) if (item.r !== undefined) rows++
  return { backup_id: id, valid: true, tables: Object.keys(m.tables).length, rows }
}

export interface RestoreResult {
  backup_id: string
  tables: number
  /** Rows read from the backup for the restored tables. */
  rows: number
  /** Rows actually written (fewer than `rows` without drop_existing when some were present). */
  inserted: number
  /** State-store keys written back. */
  state_keys: number
}

/**
 * Replaces the content of the backed-up tables with the backup's, in one transaction: a failure
 * anywhere leaves the database as it was. Refused when the backup's schema version differs from
 * this gateway's (restore into the gateway version that made it, then upgrade).
 */
export interface RestoreOptions {
  /** Receives the backed-up state keys (those the caller may restore) after the SQL commit. */
  state?: { restore(entries: StateEntry[]): Promise<number> }
  /** Only these tables (default: every table of the backup except the audit log). */
  tables?: string[]
  /** Empty the tables first, so they hold exactly the backup's rows (default true). */
  dropExisting?: boolean
  onProgress?: (p: { table: string; rows: number; totalRows: number }) => void
}

export async function restoreBackup(
  data: TableDataRepository,
  dir: string,
  id: string,
  key: Buffer | undefined,
  opts: RestoreOptions = {}
): Promise<RestoreResult> {
  const onProgress = opts.onProgress
  opts = { ...opts, dropExisting: opts.dropExisting ?? true }
  const m = await readManifest(dir, id)
  // Verify completely before touching anything.
  await verifyBackup(dir, id, key)
  const latest = (await loadMigrations()).length
  if (m.schema_version !== latest) {
    throw new BackupError(
      'SCHEMA_MISMATCH',
      `backup ${id} has schema version ${m.schema_version}, this gateway ${latest}; restore it with the gateway version that made it`
    )
  }
  let total = 0
  let inserted = 0
  let restoredTables = 0
  const stateEntries: StateEntry[] = []
  await data.write(async (tx) => {
    const current = await tx.schemaVersion()
    if (current !== m.schema_version)
      throw new BackupError(
        'SCHEMA_MISMATCH',
        `database schema version ${current} differs from the backup's ${m.schema_version}; run migrate first`
      )
    const existing = await listTables(tx)
    const wanted =
      opts.tables === undefined || opts.tables.length === 0
        ? undefined
        : opts.tables.map((t) => (t.includes('.') ? t : `public.${t}`))
    for (const w of wanted ?? [])
      if (!(w in m.tables)) throw new BackupError('BAD_REQUEST', `table ${w} is not in backup ${id}`)
    const restorable = (t: string) =>
      t !== STATE_TABLE && !NEVER_RESTORED.has(t) && (wanted === undefined || wanted.includes(t))
    const tables = existing.filter((t) => t in m.tables && restorable(t))
    const missing = Object.keys(m.tables).filter((t) => restorable(t) && !existing.includes(t))
    for (const t of missing) {
      if (!t.startsWith('user_data.'))
        throw new BackupError('SCHEMA_MISMATCH', `table ${t} of the backup does not exist`)
    }
    if (missing.length > 0)
      throw new BackupError('SCHEMA_MISMATCH', `tables ${missing.join(', ')} must be re-created before restoring`)
    restoredTables = tables.length
    // Revocations survive the restore: the present credentials are read first (src/backup/revocations.ts).
    const credentials = await snapshotCredentials(tx, tables)
    // drop_existing: the tables get exactly the backup's rows; otherwise rows the database lacks
    // are added and existing ones (same key) are kept.
    if (opts.dropExisting && tables.length > 0) {
      try {
        await tx.truncate(tables)
      } catch (err) {
        // No CASCADE: emptying tables the restore does not refill would lose their rows.
        if ((err as { code?: string }).code === '0A000')
          throw new BackupError(
            'BAD_REQUEST',
            `cannot restore ${tables.join(', ')} alone: other tables reference them; include those tables or restore without drop_existing (${(err as Error).message})`
          )
        throw err
      }
    }
    let batch: Record<string, unknown>[] = []
    let batchTable = ''
    const flush = async () => {
      if (batch.length === 0) return
      inserted += await tx.insertRows(batchTable, batch, { skipExisting: !opts.dropExisting })
      total += batch.length
      onProgress?.({
        table: batchTable,
        rows: total,
        totalRows: Object.values(m.tables).reduce((a, b) => a + b.rows, 0)
      })
      batch = []
    }
    // Rows arrive table by table in foreign-key order (as written).
    for await (const item of readRows(dir, m, key)) {
      if (item.t === STATE_TABLE && item.r !== undefined && opts.state !== undefined && wanted === undefined)
        stateEntries.push(item.r as unknown as StateEntry)
      if (item.r === undefined || !tables.includes(item.t as string)) continue
      if (item.t !== batchTable) {
        await flush()
        batchTable = item.t as string
      }
      batch.push(item.r)
      if (batch.length >= FETCH_ROWS) await flush()
    }
    await flush()
    // Sequences continue after the restored rows.
    await tx.resetSequences(tables)
    await reapplyCredentials(tx, credentials)
  })
  const stateKeys = opts.state !== undefined && stateEntries.length > 0 ? await opts.state.restore(stateEntries) : 0
  return { backup_id: id, tables: restoredTables, rows: total, inserted, state_keys: stateKeys }
}
