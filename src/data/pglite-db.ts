import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import type { Db, QueryResult, Queryable } from './db.js'

export interface PgliteDbOptions {
  /** Directory to persist into; undefined keeps the database in memory (tests). */
  dataDir?: string
  /** PostgreSQL shared_buffers, MiB (EMBEDDED_DB_SHARED_BUFFERS_MB, default 16; PostgreSQL's own default is 128). */
  sharedBuffersMb?: number
}

/**
 * Creates the database directory in a short-lived child process (issue 13): PGlite's initdb grows
 * the WebAssembly heap to ~550 MB and a WebAssembly memory never shrinks, so run in the gateway
 * itself it stayed the gateway's RSS for as long as it ran.
 */
async function initInChild(dataDir: string): Promise<void> {
  const code = `const { PGlite } = await import(${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))}); await (await PGlite.create({ dataDir: process.argv[1] })).close()`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, dataDir], {
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const exit = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve))
  if (exit !== 0) throw new Error(`could not create the embedded database in ${dataDir} (initdb exited ${exit})`)
}

const INT8_OID = 20

/**
 * Embedded PostgreSQL (PGlite, single connection, single process). Queries are serialised by
 * PGlite itself; a transaction holds its lock, so other queries wait until it ends.
 */
export async function createPgliteDb(opts: PgliteDbOptions = {}): Promise<Db> {
  if (opts.dataDir !== undefined && !existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await initInChild(opts.dataDir)
  const db = await PGlite.create({
    dataDir: opts.dataDir,
    extensions: { pg_trgm },
    // Most of an idle embedded gateway's memory is PostgreSQL's buffer pool inside the WebAssembly
    // heap: 128 MB by default, 16 MB here (issue 13: idle RSS 350–510 MB, now under 200 MB).
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${opts.sharedBuffersMb ?? 16}MB`],
    parsers: { [INT8_OID]: (v: string) => Number(v) }
  })
  const run = async <T>(q: { query: PGlite['query'] }, text: string, params?: unknown[]): Promise<QueryResult<T>> => {
    const res = await q.query<T>(text, params as unknown[])
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length }
  }
  return {
    kind: 'embedded',
    query: (text, params) => run(db, text, params),
    exec: async (sql) => void (await db.exec(sql)),
    transaction: (fn) =>
      db.transaction((tx) => {
        const q: Queryable = {
          query: (text, params) => run(tx, text, params),
          exec: async (sql) => void (await tx.exec(sql))
        }
        return fn(q)
      }),
    async ping() {
      const start = performance.now()
      await db.query('SELECT 1')
      return performance.now() - start
    },
    async version() {
      const res = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")
      return `PostgreSQL ${res.rows[0].v} (PGlite)`
    },
    close: () => db.close()
  }
}
