/**
 * Where chunk bytes live (issue 6). The filesystem store writes each chunk to a temporary file,
 * fsyncs it, renames it into place and fsyncs the directory, so a crash never leaves a partial
 * chunk under its final name; the database row is inserted only after `put` resolves. With
 * several gateway instances CHUNK_STORE_DIR must be shared storage (a ReadWriteMany volume).
 * Chunks are stored per session: no deduplication across users, which would reveal that some
 * content already exists.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fsyncPath } from '../fsync.js'
import { LucidError } from '../errors.js'

export interface PutResult {
  size: number
  sha256: string
}

export interface ChunkStore {
  /** Streams `body` to a temporary file, calling `check(size)` as bytes arrive (it may throw). */
  stage(sessionId: string, body: Readable, check: (size: number) => void): Promise<PutResult & { tempPath: string }>
  /** Moves a staged chunk into place durably (temp file → final name, directory fsynced). */
  commit(sessionId: string, index: number, tempPath: string): Promise<void>
  discard(tempPath: string): Promise<void>
  read(sessionId: string, index: number): Readable
  size(sessionId: string, index: number): Promise<number | null>
  removeSession(sessionId: string): Promise<void>
  /** Removes leftovers of interrupted uploads (temporary files); returns how many. */
  sweepTemporary(): Promise<number>
}

const SESSION_ID = /^[0-9a-f-]{36}$/
/** A temporary file not written for this long belongs to no upload in progress. */
export const TEMPORARY_MAX_AGE_MS = 15 * 60_000

export function createFsChunkStore(root: string): ChunkStore {
  const dir = (sessionId: string) => {
    if (!SESSION_ID.test(sessionId)) throw new Error('invalid session id')
    return path.join(root, sessionId.slice(0, 2), sessionId)
  }
  const finalPath = (sessionId: string, index: number) =>
    path.join(dir(sessionId), `${String(index).padStart(8, '0')}.chunk`)

  return {
    async stage(sessionId, body, check) {
      const d = dir(sessionId)
      const tempPath = path.join(d, `.tmp-${randomUUID()}`)
      const hash = createHash('sha256')
      let size = 0
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length
          try {
            check(size)
          } catch (err) {
            return done(err as Error)
          }
          hash.update(chunk)
          done(null, chunk)
        }
      })
      try {
        await mkdir(d, { recursive: true })
        await pipeline(body, meter, createWriteStream(tempPath, { flags: 'wx' }))
        const h = await open(tempPath, 'r+')
        try {
          await h.sync()
        } finally {
          await h.close()
        }
      } catch (err) {
        await unlink(tempPath).catch(() => undefined)
        // A full volume is an operator's problem with a clear answer (507), not an internal error.
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOSPC' || code === 'EDQUOT') {
          const headers = { 'retry-after': '60' }
          throw new LucidError('STORAGE_FULL', 'The chunk store is full; nothing was stored', { headers, cause: err })
        }
        throw err
      }
      return { tempPath, size, sha256: hash.digest('hex') }
    },
    async commit(sessionId, index, tempPath) {
      await rename(tempPath, finalPath(sessionId, index))
      await fsyncPath(dir(sessionId))
    },
    discard: (tempPath) => unlink(tempPath).catch(() => undefined),
    read: (sessionId, index) => createReadStream(finalPath(sessionId, index)),
    async size(sessionId, index) {
      try {
        return (await stat(finalPath(sessionId, index))).size
      } catch {
        return null
      }
    },
    removeSession: (sessionId) => rm(dir(sessionId), { recursive: true, force: true }),
    async sweepTemporary() {
      let n = 0
      const prefixes = await readdir(root).catch(() => [] as string[])
      for (const p of prefixes) {
        for (const s of await readdir(path.join(root, p)).catch(() => [] as string[])) {
          for (const f of await readdir(path.join(root, p, s)).catch(() => [] as string[])) {
            if (!f.startsWith('.tmp-')) continue
            // With several instances on one shared store, a fresh temporary file is another
            // instance's upload in progress (deleting it failed that upload with a 500, found by
            // npm run chaos): only files untouched for TEMPORARY_MAX_AGE_MS are leftovers.
            const file = path.join(root, p, s, f)
            const age = Date.now() - ((await stat(file).catch(() => null))?.mtimeMs ?? Date.now())
            if (age < TEMPORARY_MAX_AGE_MS) continue
            await unlink(file).catch(() => undefined)
            n++
          }
        }
      }
      return n
    }
  }
}
