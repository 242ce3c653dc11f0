import { PGlite } from '@electric-sql/pglite'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import type { Db, QueryResult, Queryable } from './db.js'

export interface PgliteDbOptions {
  /** Directory to persist into; undefined keeps the database in memory (tests). */
  dataDir?: string
}

const INT8_OID = 20

/**
 * Embedded PostgreSQL (PGlite, single connection, single process). Queries are serialised by
 * PGlite itself; a transaction holds its lock, so other queries wait until it ends.
 */
export async function createPgliteDb(opts: PgliteDbOptions = {}): Promise<Db> {
  const db = await PGlite.create({
    dataDir: opts.dataDir,
    extensions: { pg_trgm },
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
        const q: Queryable = { query: (text, params) => run(tx, text, params), exec: async (sql) => void (await tx.exec(sql)) }
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
