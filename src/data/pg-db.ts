import pg from 'pg'
import type { Db, QueryResult, Queryable } from './db.js'
import { wrapDbError } from './db.js'

export interface PgDbOptions {
  connectionString: string
  max?: number
  statementTimeoutMs?: number
  /** How long a request waits for a pooled connection before failing with 5002, ms. */
  connectionTimeoutMs?: number
  onError?: (err: Error) => void
}

// int8 (count(*), sizes) as number on both adapters; values stay below 2^53 (100 GiB sessions).
const INT8_OID = 20
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
}

export function createPgDb(opts: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs ?? 30_000,
    application_name: 'lucid-api-gateway',
    types
  })
  // An idle client losing its server emits here; without a listener the process would crash.
  pool.on('error', (err) => opts.onError?.(err))

  const run = async <T>(
    q: Queryable | pg.Pool | pg.PoolClient,
    text: string,
    params?: unknown[]
  ): Promise<QueryResult<T>> => {
    try {
      const res = await (q as pg.Pool).query(text, params as unknown[])
      return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 }
    } catch (err) {
      throw wrapDbError(err)
    }
  }

  return {
    kind: 'postgresql',
    query: (text, params) => run(pool, text, params),
    exec: async (sql) => void (await run(pool, sql)),
    async transaction(fn) {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        throw wrapDbError(err)
      }
      // A checked-out client that loses its server between two queries emits 'error' with no
      // listener of the pool's attached: that crashed the process when PostgreSQL stopped during a
      // transaction (found by npm run chaos). The next query or COMMIT fails and rolls back instead.
      let lost: Error | undefined
      const onLost = (err: Error) => {
        lost = err
      }
      client.on('error', onLost)
      const tx: Queryable = {
        query: (text, params) => run(client, text, params),
        exec: async (sql) => void (await run(client, sql))
      }
      try {
        await client.query('BEGIN')
        const result = await fn(tx)
        await client.query('COMMIT')
        client.off('error', onLost)
        client.release()
        return result
      } catch (err) {
        try {
          if (lost !== undefined) throw lost
          await client.query('ROLLBACK')
          client.off('error', onLost)
          client.release()
        } catch (rollbackErr) {
          client.off('error', onLost)
          client.release(rollbackErr as Error)
        }
        throw wrapDbError(err)
      }
    },
    async ping() {
      const start = performance.now()
      await run(pool, 'SELECT 1')
      return performance.now() - start
    },
    async version() {
      const { rows } = await run<{ v: string }>(pool, "SELECT current_setting('server_version') AS v")
      return `PostgreSQL ${rows[0].v}`
    },
    close: () => pool.end()
  }
}
