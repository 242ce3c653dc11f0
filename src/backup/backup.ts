/**
 * Portable logical backups of the gateway's database (issue 7 "Backups", issue 8 CLI).
 *
 * A backup is two files under BACKUP_DIR:
 *  - `<id>.lbk`: JSON lines (one header, then `{"t": table, "r": row}` per row) taken in one
 *    REPEATABLE READ snapshot, gzip-compressed, then AES-256-GCM encrypted with a key derived
 *    from DATA_ENCRYPTION_KEY (HKDF, "lucid-backup-v1"). Layout: "LUCIDBK1" | 12-byte IV |
 *    ciphertext | 16-byte tag. Unencrypted backups are plain (optionally gzip) JSON lines.
 *  - `<id>.manifest.json`: schema version, per-table row counts and SHA-256 of the rows, the
 *    SHA-256 and size of the .lbk file. Nothing secret.
 * Both are written to temporary names and renamed after fsync, so a crash leaves no half backup.
 *
 * pg_dump would need the server's binaries in the gateway's image (and does not exist for
 * PGlite); a JSON-lines dump through SQL works the same on both adapters.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { createInterface } from 'node:readline'
import { quoteIdent, quoteQualified } from '../data/identifiers.js'
import { reapplyCredentials, snapshotCredentials } from './revocations.js'
import type { Db, Queryable } from '../data/db.js'
import { loadMigrations, schemaVersion } from '../data/migrate.js'
import { fsyncPath } from '../fsync.js'

const MAGIC = Buffer.from('LUCIDBK1')
const IV_BYTES = 12
const TAG_BYTES = 16
const FETCH_ROWS = 1_000
/** Gateway schemas a backup covers: its own tables and admin-created ones. */
const SCHEMAS = ['public', 'user_data']
/** Recorded as the schema version instead of being copied. */
const EXCLUDED = new Set(['public.schema_migrations'])
/**
 * Backed up but never restored: a restore appends to the audit log, it does not rewind it; the
 * backup catalogue and job bookkeeping describe the present (the restore in progress among them).
 */
export const NEVER_RESTORED = new Set(['public.audit_log', 'public.backups', 'public.backup_restores', 'public.job_runs'])

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
  constructor(readonly code: 'NO_KEY' | 'NOT_FOUND' | 'CORRUPT' | 'SCHEMA_MISMATCH' | 'BAD_REQUEST', message: string) {
    super(message)
    this.name = 'BackupError'
  }
}

function backupKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'lucid-backup-v1', 32))
}

const qualified = quoteQualified

/** Every base table of the gateway's schemas, `schema.table`, in an order that respects foreign keys. */
export async function listTables(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema = ANY($1) ORDER BY 1`,
    [SCHEMAS]
  )
  const tables = rows.map((r) => r.name).filter((n) => !EXCLUDED.has(n))
  const { rows: fks } = await q.query<{ child: string; parent: string }>(
    `SELECT cn.nspname || '.' || c.relname AS child, pn.nspname || '.' || p.relname AS parent
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE k.contype = 'f'`
  )
  // Topological order: parents before children (self-references ignored).
  const ordered: string[] = []
  const seen = new Set<string>()
  const visit = (t: string, stack: Set<string>) => {
    if (seen.has(t) || stack.has(t)) return
    stack.add(t)
    for (const fk of fks) if (fk.child === t && fk.parent !== t && tables.includes(fk.parent)) visit(fk.parent, stack)
    stack.delete(t)
    seen.add(t)
    ordered.push(t)
  }
  for (const t of tables) visit(t, new Set())
  return ordered
}

function resolveTables(all: string[], wanted: string[] | undefined): string[] {
  if (wanted === undefined || wanted.length === 0) return all
  const out: string[] = []
  for (const w of wanted) {
    const name = w.includes('.') ? w : `public.${w}`
    if (!all.includes(name)) throw new BackupError('BAD_REQUEST', `unknown table "${w}"`)
    out.push(name)
  }
  return all.filter((t) => out.includes(t))
}

/** Appends the GCM tag after the ciphertext when the stream ends. */
function encryptor(key: Buffer): Transform {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', backupKey(key), iv)
  cipher.setAAD(MAGIC)
  let started = false
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!started) {
        started = true
        this.push(Buffer.concat([MAGIC, iv]))
      }
      cb(null, cipher.update(chunk))
    },
    flush(cb) {
      if (!started) this.push(Buffer.concat([MAGIC, iv]))
      this.push(cipher.final())
      cb(null, cipher.getAuthTag())
    }
  })
}

export async function createBackup(db: Db, opts: BackupOptions): Promise<BackupManifest> {
  const encryption = opts.encryption ?? true
  const compression = opts.compression ?? true
  if (encryption && opts.key === undefined) {
    throw new BackupError('NO_KEY', 'encryption was requested but DATA_ENCRYPTION_KEY is not configured; set it, or ask for encryption=false')
  }
  if (!/^[\w .-]{1,100}$/.test(opts.name)) throw new BackupError('BAD_REQUEST', 'backup name must be 1-100 letters, digits, spaces, dots, dashes or underscores')
  const id = opts.id ?? randomUUID()
  await mkdir(opts.dir, { recursive: true, mode: 0o700 })
  const file = `${id}.lbk`
  const tmp = path.join(opts.dir, `.${file}.${process.pid}.tmp`)
  const createdAt = new Date()
  const tables: Record<string, TableSummary> = {}
  const fileHash = createHash('sha256')
  let size = 0
  let version = 0
  try {
    await db.transaction(async (tx) => {
      // One consistent snapshot for every table.
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      version = await schemaVersion(tx)
      const names = resolveTables(await listTables(tx), opts.tables)
      async function* lines(): AsyncGenerator<string> {
        yield JSON.stringify({ format: 'lucid-backup', format_version: 1, backup_id: id, schema_version: version, tables: names }) + '\n'
        for (const [i, t] of names.entries()) {
          const total = Number((await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(t)}`)).rows[0].n)
          const h = createHash('sha256')
          let n = 0
          const cursor = `lucid_backup_${i}`
          await tx.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT row_to_json(x)::text AS r FROM ${qualified(t)} x`)
          for (;;) {
            const { rows } = await tx.query<{ r: string }>(`FETCH ${FETCH_ROWS} FROM ${cursor}`)
            if (rows.length === 0) break
            let chunk = ''
            for (const row of rows) {
              h.update(row.r).update('\n')
              chunk += `{"t":${JSON.stringify(t)},"r":${row.r}}\n`
            }
            n += rows.length
            opts.onProgress?.({ table: t, rows: n, totalRows: total, tableIndex: i, tableCount: names.length })
            yield chunk
          }
          await tx.query(`CLOSE ${cursor}`)
          if (n === 0) opts.onProgress?.({ table: t, rows: 0, totalRows: 0, tableIndex: i, tableCount: names.length })
          tables[t] = { rows: n, sha256: h.digest('hex') }
        }
        if (opts.state !== undefined && (opts.tables === undefined || opts.tables.length === 0)) {
          // The state store's string keys (Redis keyspace under the gateway's prefix).
          const h = createHash('sha256')
          let n = 0
          let chunk = ''
          for await (const e of opts.state.entries()) {
            const r = JSON.stringify(e)
            h.update(r).update('\n')
            chunk += `{"t":${JSON.stringify(STATE_TABLE)},"r":${r}}\n`
            if (++n % FETCH_ROWS === 0) {
              yield chunk
              chunk = ''
            }
          }
          if (chunk !== '') yield chunk
          tables[STATE_TABLE] = { rows: n, sha256: h.digest('hex') }
        }
      }
      const stages: (Transform | Writable)[] = []
      if (compression) stages.push(createGzip())
      if (encryption) stages.push(encryptor(opts.key as Buffer))
      stages.push(new Transform({
        transform(chunk: Buffer, _e, cb) {
          fileHash.update(chunk)
          size += chunk.length
          cb(null, chunk)
        }
      }))
      await pipeline(Readable.from(lines()), ...(stages as [Transform]), createWriteStream(tmp, { mode: 0o600 }))
    })
    await fsyncPath(tmp)
    const manifest: BackupManifest = {
      format: 'lucid-backup',
      format_version: 1,
      backup_id: id,
      name: opts.name,
      type: 'full',
      created_at: createdAt.toISOString(),
      completed_at: new Date().toISOString(),
      schema_version: version,
      database: db.kind,
      compression,
      encryption,
      retention_days: opts.retentionDays ?? 30,
      expires_at: new Date(createdAt.getTime() + (opts.retentionDays ?? 30) * 86_400_000).toISOString(),
      tables,
      file,
      size_bytes: size,
      sha256: fileHash.digest('hex')
    }
    await rename(tmp, path.join(opts.dir, file))
    const mtmp = path.join(opts.dir, `.${id}.manifest.json.tmp`)
    await writeFile(mtmp, JSON.stringify(manifest, null, 2), { mode: 0o600 })
    await fsyncPath(mtmp)
    await rename(mtmp, path.join(opts.dir, `${id}.manifest.json`))
    await fsyncPath(opts.dir)
    return manifest
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

const ID_RE = /^[0-9a-f-]{36}$/

export async function readManifest(dir: string, id: string): Promise<BackupManifest> {
  if (!ID_RE.test(id)) throw new BackupError('NOT_FOUND', `no backup "${id}"`)
  try {
    return JSON.parse(await readFile(path.join(dir, `${id}.manifest.json`), 'utf8')) as BackupManifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupError('NOT_FOUND', `no backup "${id}" in ${dir}`)
    throw new BackupError('CORRUPT', `backup ${id}: manifest unreadable: ${(err as Error).message}`)
  }
}

export async function deleteBackup(dir: string, id: string): Promise<void> {
  const m = await readManifest(dir, id)
  await rm(path.join(dir, m.file), { force: true })
  await rm(path.join(dir, `${id}.manifest.json`), { force: true })
}

/** Streams the rows of a backup after checking the file's checksum; throws CORRUPT on any mismatch. */
async function* readRows(dir: string, m: BackupManifest, key: Buffer | undefined): AsyncGenerator<{ header?: { schema_version: number; tables: string[] }; t?: string; r?: Record<string, unknown> }> {
  const file = path.join(dir, m.file)
  const st = await stat(file).catch(() => undefined)
  if (st === undefined) throw new BackupError('CORRUPT', `backup ${m.backup_id}: file ${m.file} is missing`)
  if (st.size !== m.size_bytes) throw new BackupError('CORRUPT', `backup ${m.backup_id}: size ${st.size} does not match the manifest (${m.size_bytes})`)
  const h = createHash('sha256')
  await pipeline(createReadStream(file), new Transform({ transform: (c: Buffer, _e, cb) => { h.update(c); cb() } }))
  if (h.digest('hex') !== m.sha256) throw new BackupError('CORRUPT', `backup ${m.backup_id}: SHA-256 does not match the manifest`)
  let source: Readable
  if (m.encryption) {
    if (key === undefined) throw new BackupError('NO_KEY', 'the backup is encrypted and DATA_ENCRYPTION_KEY is not configured')
    const fh = await open(file, 'r')
    const head = Buffer.alloc(MAGIC.length + IV_BYTES)
    const tag = Buffer.alloc(TAG_BYTES)
    await fh.read(head, 0, head.length, 0)
    await fh.read(tag, 0, TAG_BYTES, st.size - TAG_BYTES)
    await fh.close()
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError('CORRUPT', `backup ${m.backup_id}: not a Lucid backup file`)
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
      const obj = JSON.parse(line) as { t?: string; r?: Record<string, unknown>; schema_version?: number; tables?: string[] }
      if (first) {
        first = false
        if (obj.schema_version !== m.schema_version) throw new BackupError('CORRUPT', `backup ${m.backup_id}: header does not match the manifest`)
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
    throw new BackupError('CORRUPT', `backup ${m.backup_id}: cannot be read (${(err as Error).message}); wrong DATA_ENCRYPTION_KEY or a damaged file`)
  }
  for (const [t, want] of Object.entries(m.tables)) {
    const got = sums.get(t)
    const sha = got?.h.digest('hex') ?? createHash('sha256').digest('hex')
    if ((got?.n ?? 0) !== want.rows || sha !== want.sha256) throw new BackupError('CORRUPT', `backup ${m.backup_id}: table ${t} does not match its checksum (${got?.n ?? 0} rows, manifest ${want.rows})`)
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

export async function restoreBackup(db: Db, dir: string, id: string, key: Buffer | undefined, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const onProgress = opts.onProgress
  opts = { ...opts, dropExisting: opts.dropExisting ?? true }
  const m = await readManifest(dir, id)
  // Verify completely before touching anything.
  await verifyBackup(dir, id, key)
  const latest = (await loadMigrations()).length
  if (m.schema_version !== latest) {
    throw new BackupError('SCHEMA_MISMATCH', `backup ${id} has schema version ${m.schema_version}, this gateway ${latest}; restore it with the gateway version that made it`)
  }
  let total = 0
  let inserted = 0
  let restoredTables = 0
  const stateEntries: StateEntry[] = []
  await db.transaction(async (tx) => {
    const current = await schemaVersion(tx)
    if (current !== m.schema_version) throw new BackupError('SCHEMA_MISMATCH', `database schema version ${current} differs from the backup's ${m.schema_version}; run migrate first`)
    const existing = await listTables(tx)
    const wanted = opts.tables === undefined || opts.tables.length === 0 ? undefined : opts.tables.map((t) => (t.includes('.') ? t : `public.${t}`))
    for (const w of wanted ?? []) if (!(w in m.tables)) throw new BackupError('BAD_REQUEST', `table ${w} is not in backup ${id}`)
    const restorable = (t: string) => t !== STATE_TABLE && !NEVER_RESTORED.has(t) && (wanted === undefined || wanted.includes(t))
    const tables = existing.filter((t) => t in m.tables && restorable(t))
    const missing = Object.keys(m.tables).filter((t) => restorable(t) && !existing.includes(t))
    for (const t of missing) {
      if (!t.startsWith('user_data.')) throw new BackupError('SCHEMA_MISMATCH', `table ${t} of the backup does not exist`)
    }
    if (missing.length > 0) throw new BackupError('SCHEMA_MISMATCH', `tables ${missing.join(', ')} must be re-created before restoring`)
    restoredTables = tables.length
    // Revocations survive the restore: the present credentials are read first (src/backup/revocations.ts).
    const credentials = await snapshotCredentials(tx, tables)
    // drop_existing: the tables get exactly the backup's rows; otherwise rows the database lacks
    // are added and existing ones (same key) are kept.
    if (opts.dropExisting && tables.length > 0) {
      try {
        await tx.query(`TRUNCATE ${tables.map(qualified).join(', ')}`)
      } catch (err) {
        // No CASCADE: emptying tables the restore does not refill would lose their rows.
        if ((err as { code?: string }).code === '0A000') throw new BackupError('BAD_REQUEST', `cannot restore ${tables.join(', ')} alone: other tables reference them; include those tables or restore without drop_existing (${(err as Error).message})`)
        throw err
      }
    }
    // Generated columns are recomputed, identity columns keep their backed-up values.
    const { rows: cols } = await tx.query<{ tbl: string; col: string }>(
      `SELECT table_schema || '.' || table_name AS tbl, column_name AS col FROM information_schema.columns
        WHERE table_schema = ANY($1) AND is_generated = 'NEVER' ORDER BY ordinal_position`,
      [SCHEMAS]
    )
    const columnList = (t: string) => cols.filter((c) => c.tbl === t).map((c) => quoteIdent(c.col)).join(', ')
    let batch: Record<string, unknown>[] = []
    let batchTable = ''
    const flush = async () => {
      if (batch.length === 0) return
      const list = columnList(batchTable)
      const r = await tx.query(`INSERT INTO ${qualified(batchTable)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${qualified(batchTable)}, $1::json)${opts.dropExisting ? '' : ' ON CONFLICT DO NOTHING'}`, [JSON.stringify(batch)])
      inserted += r.rowCount
      total += batch.length
      onProgress?.({ table: batchTable, rows: total, totalRows: Object.values(m.tables).reduce((a, b) => a + b.rows, 0) })
      batch = []
    }
    // Rows arrive table by table in foreign-key order (as written).
    for await (const item of readRows(dir, m, key)) {
      if (item.t === STATE_TABLE && item.r !== undefined && opts.state !== undefined && wanted === undefined) stateEntries.push(item.r as unknown as StateEntry)
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
    const { rows: seqs } = await tx.query<{ tbl: string; col: string; seq: string }>(
      `SELECT c.table_schema || '.' || c.table_name AS tbl, c.column_name AS col,
              pg_get_serial_sequence(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name), c.column_name) AS seq
         FROM information_schema.columns c
        WHERE c.table_schema = ANY($1) AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')`,
      [SCHEMAS]
    )
    for (const s of seqs) {
      if (s.seq === null || !tables.includes(s.tbl)) continue
      await tx.query(`SELECT setval($1::regclass, GREATEST(COALESCE((SELECT max(${quoteIdent(s.col)}) FROM ${qualified(s.tbl)}), 0), 1), (SELECT count(*) > 0 FROM ${qualified(s.tbl)}))`, [s.seq])
    }
    await reapplyCredentials(tx, credentials)
  })
  const stateKeys = opts.state !== undefined && stateEntries.length > 0 ? await opts.state.restore(stateEntries) : 0
  return { backup_id: id, tables: restoredTables, rows: total, inserted, state_keys: stateKeys }
}
