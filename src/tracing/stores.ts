/**
 * Tracing decorators for the Db interface and the Redis state store (issue 17): every query and
 * command made while a request or job span is active becomes a CLIENT child span, without any
 * repository knowing about tracing. Applied only when tracing is on.
 *
 * A query's text is parameterised SQL (values travel as parameters, STYLE.md), so it may go on the
 * span; Redis keys may not (they hold nonces, idempotency keys and user ids), only the command.
 */
import { SpanKind, type Attributes } from '@opentelemetry/api'
import {
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL
} from '@opentelemetry/semantic-conventions'
import type { Db, Queryable } from '../data/db.js'
import type { StateStore } from '../stores/state-store.js'
import type { Tracing } from './provider.js'
import { inChildSpan } from './spans.js'

const MAX_QUERY_TEXT = 2_000

function operationOf(sql: string): string {
  const m = /^\s*(?:WITH\b[\s\S]*?\)\s*)?([A-Za-z]+)/.exec(sql)
  return m === null ? 'SQL' : m[1].toUpperCase()
}

/**
 * The span attributes of one SQL text, computed once: repositories send a fixed set of
 * parameterised statements, so a bounded cache turns the per-query regex and whitespace folding
 * into a lookup (and every span of a statement shares one attribute object the SDK copies from).
 */
const queryAttributes = new Map<string, { op: string; attributes: Attributes }>()
function attributesOf(sql: string): { op: string; attributes: Attributes } {
  let a = queryAttributes.get(sql)
  if (a === undefined) {
    const op = operationOf(sql)
    a = {
      op,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
        [ATTR_DB_OPERATION_NAME]: op,
        [ATTR_DB_QUERY_TEXT]: sql.replace(/\s+/g, ' ').trim().slice(0, MAX_QUERY_TEXT)
      }
    }
    if (queryAttributes.size < 5_000) queryAttributes.set(sql, a)
  }
  return a
}

function traceQueryable(q: Queryable, tracing: Tracing): Queryable {
  const span = <T>(sql: string, fn: () => Promise<T>) => {
    const { op, attributes } = attributesOf(sql)
    return inChildSpan(tracing, op, SpanKind.CLIENT, attributes, fn)
  }
  return {
    query: (text, params) => span(text, () => q.query(text, params)),
    exec: (sql) => span(sql, () => q.exec(sql))
  }
}

const TRANSACTION_ATTRIBUTES: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL }

/** The same Db, its queries and transactions traced; every other member is the original's. */
export function traceDb(db: Db, tracing: Tracing): Db {
  return {
    ...db,
    ...traceQueryable(db, tracing),
    transaction: (fn) =>
      inChildSpan(tracing, 'transaction', SpanKind.INTERNAL, TRANSACTION_ATTRIBUTES, () =>
        db.transaction((tx) => fn(traceQueryable(tx, tracing)))
      )
  }
}

// The store's data commands and the Redis command each one sends (admin and pub/sub left out).
const COMMANDS = {
  get: 'GET',
  set: 'SET',
  del: 'DEL',
  take: 'GETDEL',
  incr: 'INCRBY',
  ttl: 'PTTL',
  publish: 'PUBLISH'
} as const

/**
 * The same store with its Redis commands traced. Extra members (the limiter reads `client` and
 * `prefix` to share the connection) are kept as they are; the in-process store is left alone —
 * its calls cost microseconds and are no network dependency.
 */
export function traceStateStore<S extends StateStore>(store: S, tracing: Tracing): S {
  if (store.kind !== 'redis') return store
  const out = { ...store } as Record<string, unknown>
  for (const [method, command] of Object.entries(COMMANDS)) {
    const original = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]
    const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: 'redis', [ATTR_DB_OPERATION_NAME]: command }
    out[method] = (...args: unknown[]) =>
      inChildSpan(tracing, command, SpanKind.CLIENT, attributes, () => original.apply(store, args))
  }
  return out as S
}
