/**
 * The one database interface the gateway's code sees (STYLE.md "Interfaces and data"): two
 * adapters, PostgreSQL through a pg Pool and embedded PGlite, run the same SQL and migrations.
 */
import { LucidError } from '../errors.js'

export interface QueryResult<T> {
  rows: T[]
  rowCount: number
}

/** What repositories need: a query runner, the pool itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<T>>
  /** Runs a script of several statements without parameters (migrations, restores). */
  exec(sql: string): Promise<void>
}

export interface Db extends Queryable {
  /** "postgresql" for a server, "embedded" for PGlite (CONTRACT.md meta/health `storage.database`). */
  readonly kind: 'postgresql' | 'embedded'
  /** Runs fn inside BEGIN/COMMIT; a throw rolls back and is rethrown. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /** Round-trip latency of `SELECT 1`, ms; throws DATABASE_UNAVAILABLE when unreachable. */
  ping(): Promise<number>
  /** Server version string, e.g. "PostgreSQL 15.19". */
  version(): Promise<string>
  close(): Promise<void>
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300'
])

/** True for failures that mean "the database cannot be reached", as opposed to a bad statement. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: string }).code
  if (code !== undefined && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08'))) return true
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|the database system is (starting up|shutting down)/i.test(
    err.message
  )
}

/** Wraps connection failures as 503/5002 so the error handler never blames the request. */
export function wrapDbError(err: unknown): unknown {
  if (err instanceof LucidError) return err
  if (isConnectionError(err)) return new LucidError('DATABASE_UNAVAILABLE', undefined, { cause: err })
  return err
}
