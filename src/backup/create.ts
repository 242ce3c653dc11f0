/**
 * Writing a backup (see backup.ts for the format): one REPEATABLE READ snapshot streamed as JSON
 * lines through gzip and AES-256-GCM to a temporary file, fsynced and renamed with its manifest.
 */
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import type { TableDataRepository } from '../data/repositories/table-data.js'
import { fsyncPath } from '../fsync.js'
import {
  BackupError,
  FETCH_ROWS,
  IV_BYTES,
  MAGIC,
  STATE_TABLE,
  backupKey,
  listTables,
  type BackupManifest,
  type BackupOptions,
  type TableSummary
} from './format.js'

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

export async function createBackup(data: TableDataRepository, opts: BackupOptions): Promise<BackupManifest> {
  const encryption = opts.encryption ?? true
  const compression = opts.compression ?? true
  if (encryption && opts.key === undefined) {
    throw new BackupError(
      'NO_KEY',
      'encryption was requested but DATA_ENCRYPTION_KEY is not configured; set it, or ask for encryption=false'
    )
  }
  if (!/^[\w .-]{1,100}$/.test(opts.name))
    throw new BackupError(
      'BAD_REQUEST',
      'backup name must be 1-100 letters, digits, spaces, dots, dashes or underscores'
    )
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
    await data.readSnapshot(async (snap) => {
      // One consistent snapshot for every table.
      version = await snap.schemaVersion()
      const names = resolveTables(await listTables(snap), opts.tables)
      async function* lines(): AsyncGenerator<string> {
        yield (
          JSON.stringify({
            format: 'lucid-backup',
            format_version: 1,
            backup_id: id,
            schema_version: version,
            tables: names
          }) + '\n'
        )
        for (const [i, t] of names.entries()) {
          const total = await snap.count(t)
          const h = createHash('sha256')
          let n = 0
          for await (const rows of snap.rows(t, FETCH_ROWS)) {
            let chunk = ''
            for (const r of rows) {
              h.update(r).update('\n')
              chunk += `{"t":${JSON.stringify(t)},"r":${r}}\n`
            }
            n += rows.length
            opts.onProgress?.({ table: t, rows: n, totalRows: total, tableIndex: i, tableCount: names.length })
            yield chunk
          }
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
      stages.push(
        new Transform({
          transform(chunk: Buffer, _e, cb) {
            fileHash.update(chunk)
            size += chunk.length
            cb(null, chunk)
          }
        })
      )
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
      database: data.kind,
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
