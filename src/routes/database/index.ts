/**
 * /api/v1/database (issue 7): health, statistics, slow statements, collections (tables of the
 * `user_data` schema; the gateway's own tables are listed read-only) and their indexes.
 * Reads are for admins, writes for super_admins (drops also need confirm=true); all audited.
 * Every identifier is validated against a strict pattern and double-quoted; values are bound.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { quoteIdent } from '../../data/identifiers.js'
import { withErrors } from '../../schemas/common.js'
import { requireConfirm } from '../shared/request.js'
import { RECOMMENDED_INDEXES } from './recommended.js'
import { auditReads } from '../shared/audit-reads.js'

const USER_SCHEMA = 'user_data'
const IDENT = '^[a-z_][a-z0-9_]{0,62}$'
const q = quoteIdent
const identRe = new RegExp(IDENT)
const ident = (s: string, what: string) => {
  if (!identRe.test(s)) throw new LucidError('INVALID_REQUEST', `${what} must match ${IDENT}`)
  return q(s)
}

const COLUMN_TYPES = ['text', 'integer', 'bigint', 'boolean', 'numeric', 'double precision', 'timestamptz', 'date', 'jsonb', 'uuid', 'bytea'] as const
const ColumnSchema = Type.Object({
  name: Type.String({ pattern: IDENT }),
  type: Type.Union(COLUMN_TYPES.map((t) => Type.Literal(t))),
  nullable: Type.Boolean({ default: true }),
  unique: Type.Boolean({ default: false }),
  primary_key: Type.Boolean({ default: false }),
  default: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean(), Type.Null()], { description: 'a literal; "now()" for timestamptz, "gen_random_uuid()" for uuid' }))
}, { additionalProperties: false })

const NameParams = Type.Object({ name: Type.String({ pattern: IDENT }) })
const IndexParams = Type.Object({ name: Type.String({ pattern: IDENT }), index_name: Type.String({ pattern: IDENT }) })
const Confirm = Type.Object({ confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false })

const CollectionSchema = Type.Object({
  name: Type.String(),
  schema: Type.String(),
  read_only: Type.Boolean(),
  estimated_rows: Type.Integer(),
  size_bytes: Type.Integer(),
  index_size_bytes: Type.Integer(),
  columns: Type.Optional(Type.Array(Type.Object({ name: Type.String(), type: Type.String(), nullable: Type.Boolean(), default: Type.Union([Type.String(), Type.Null()]) })))
})
const IndexSchema = Type.Object({
  name: Type.String(),
  definition: Type.String(),
  unique: Type.Boolean(),
  primary: Type.Boolean(),
  valid: Type.Boolean(),
  size_bytes: Type.Integer(),
  scans: Type.Integer(),
  tuples_read: Type.Integer()
})

/** Literal for a DEFAULT clause: numbers and booleans as such, strings quoted, two known functions. */
function defaultLiteral(col: Static<typeof ColumnSchema>): string | undefined {
  const d = col.default
  if (d === undefined) return undefined
  if (d === null) return 'NULL'
  if (typeof d === 'boolean') return d ? 'true' : 'false'
  if (typeof d === 'number') {
    if (!Number.isFinite(d)) throw new LucidError('INVALID_REQUEST', `default of ${col.name} must be finite`)
    return String(d)
  }
  if (d === 'now()' && (col.type === 'timestamptz' || col.type === 'date')) return 'now()'
  if (d === 'gen_random_uuid()' && col.type === 'uuid') return 'gen_random_uuid()'
  return `'${d.replace(/'/g, "''")}'::${col.type}`
}

export default async function databaseRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  auditReads(app, 'database', ['/api/v1/database/collections/:name/validate'])
  const tags = ['database']
  const admin = { onRequest: [app.authenticate, app.requireRole('admin')] }
  const superAdmin = { onRequest: [app.authenticate, app.requireRole('super_admin')] }
  const concurrently = () => (app.db.kind === 'postgresql' ? 'CONCURRENTLY ' : '')

  await app.db.exec(`CREATE SCHEMA IF NOT EXISTS ${USER_SCHEMA}`).catch((err: Error) => app.log.warn({ err }, 'could not create the user_data schema'))

  /** Where a collection lives: user_data first, then the gateway's own (read-only) tables. */
  async function resolve(name: string): Promise<{ schema: string; readOnly: boolean }> {
    const { rows } = await app.db.query<{ schema: string }>(
      "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = $1 AND table_schema = ANY($2) AND table_type = 'BASE TABLE' ORDER BY table_schema = $3 DESC",
      [name, [USER_SCHEMA, 'public'], USER_SCHEMA]
    )
    if (rows.length === 0) throw new LucidError('NOT_FOUND', `Collection ${name} not found`)
    return { schema: rows[0].schema, readOnly: rows[0].schema !== USER_SCHEMA }
  }
  async function writable(name: string): Promise<string> {
    const r = await resolve(name)
    if (r.readOnly) throw new LucidError('FORBIDDEN', `${name} is one of the gateway's own tables: read-only through this API`)
    return `${q(USER_SCHEMA)}.${q(name)}`
  }
  const audit = (request: FastifyRequest, action: string, target: string, details: Record<string, unknown> = {}) => app.audit(request, { action: `database.${action}`, target_type: 'collection', target_id: target, details })

  async function listCollections(filter?: { schema: string; name: string }): Promise<Static<typeof CollectionSchema>[]> {
    const params: unknown[] = [[USER_SCHEMA, 'public']]
    let where = ''
    if (filter !== undefined) {
      params.push(filter.schema, filter.name)
      where = 'AND n.nspname = $2 AND c.relname = $3'
    }
    const select = () => app.db.query<{ name: string; schema: string; rows: number; size: number; isize: number }>(
      `SELECT c.relname AS name, n.nspname AS schema, c.reltuples::bigint AS rows,
              pg_total_relation_size(c.oid) AS size, pg_indexes_size(c.oid) AS isize
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND c.relname <> 'schema_migrations' ${where}
        ORDER BY n.nspname DESC, c.relname`,
      params
    )
    let { rows } = await select()
    // reltuples is -1 until a table is first analyzed, which autovacuum does on PostgreSQL but
    // nothing does on PGlite: every estimate read 0 there (issue 13). ANALYZE samples (bounded
    // cost) those tables once; later calls find the estimate.
    const unknown = rows.filter((r) => Number(r.rows) < 0)
    if (unknown.length > 0) {
      for (const r of unknown) await app.db.exec(`ANALYZE ${q(r.schema)}.${q(r.name)}`).catch((err: Error) => app.log.warn({ err, table: r.name }, 'ANALYZE for row estimates failed'))
      rows = (await select()).rows
    }
    return rows.map((r) => ({ name: r.name, schema: r.schema, read_only: r.schema !== USER_SCHEMA, estimated_rows: Math.max(0, Number(r.rows)), size_bytes: Number(r.size), index_size_bytes: Number(r.isize) }))
  }

  app.get('/health', { ...admin, schema: { tags, summary: 'Database, cache and search health', response: withErrors({ 200: Type.Any(), 503: Type.Any() }) } }, async (_request, reply) => {
    const checkedAt = new Date().toISOString()
    const db: { status: string; kind: string; version: string | null; latency_ms: number | null; last_check: string; error?: string } = await app.db.ping().then(
      async (ms) => ({ status: 'healthy', kind: app.db.kind, version: await app.db.version(), latency_ms: Math.round(ms * 100) / 100, last_check: checkedAt }),
      (err: Error) => ({ status: 'unhealthy', kind: app.db.kind, version: null, error: err.message, latency_ms: null, last_check: checkedAt })
    )
    const cacheStats = await app.stateStore.stats().catch(() => undefined)
    const cache = await app.stateStore.ping().then((ms) => ({ status: 'healthy', kind: app.stateStore.kind, version: cacheStats?.version ?? null, latency_ms: Math.round(ms * 100) / 100, last_check: checkedAt }), (err: Error) => ({ status: 'unhealthy', kind: app.stateStore.kind, error: err.message, latency_ms: null, last_check: checkedAt }))
    let search: Record<string, unknown> = { status: 'unhealthy', engine: 'postgresql-fts', last_check: checkedAt }
    if (db.status === 'healthy') {
      const ext = await app.db.query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'").catch(() => ({ rows: [] }))
      search = { status: 'healthy', engine: 'postgresql-fts', version: db.version, suggestions: ext.rows.length > 0 ? 'pg_trgm' : 'prefix', latency_ms: db.latency_ms, last_check: checkedAt }
    }
    const status = db.status !== 'healthy' ? 'unhealthy' : cache.status !== 'healthy' ? 'degraded' : 'healthy'
    return reply.code(db.status === 'healthy' ? 200 : 503).send({ status, database: db, cache, search })
  })

  app.get('/stats', { ...admin, schema: { tags, summary: 'Tables, sizes, connections, operation counters; cache memory and hit rate', response: withErrors({ 200: Type.Any() }) } }, async () => {
    const [tables, db, conns, size] = await Promise.all([
      listCollections(),
      app.db.query<Record<string, number>>(`SELECT xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, deadlocks FROM pg_stat_database WHERE datname = current_database()`),
      app.db.query<{ total: number; active: number }>(`SELECT count(*)::int AS total, count(*) FILTER (WHERE state = 'active')::int AS active FROM pg_stat_activity WHERE datname = current_database()`),
      app.db.query<{ size: number }>('SELECT pg_database_size(current_database()) AS size')
    ])
    const ops = await app.db.query<{ name: string; seq_scan: number; idx_scan: number; n_tup_ins: number; n_tup_upd: number; n_tup_del: number; n_live_tup: number; n_dead_tup: number }>(
      `SELECT schemaname || '.' || relname AS name, seq_scan, COALESCE(idx_scan, 0) AS idx_scan, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup FROM pg_stat_user_tables ORDER BY relname`
    )
    const counters = Object.fromEntries(Object.entries(db.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]))
    const hits = counters.blks_hit ?? 0
    const reads = counters.blks_read ?? 0
    return {
      database: {
        kind: app.db.kind,
        size_bytes: Number(size.rows[0].size),
        tables: tables.length,
        rows_estimated: tables.reduce((a, t) => a + t.estimated_rows, 0),
        data_size_bytes: tables.reduce((a, t) => a + t.size_bytes - t.index_size_bytes, 0),
        index_size_bytes: tables.reduce((a, t) => a + t.index_size_bytes, 0),
        connections: { total: Number(conns.rows[0]?.total ?? 0), active: Number(conns.rows[0]?.active ?? 0) },
        counters,
        buffer_hit_rate: hits + reads === 0 ? null : Math.round((hits / (hits + reads)) * 10_000) / 10_000,
        per_table: ops.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'name' ? v : Number(v)])))
      },
      cache: await app.stateStore.stats()
    }
  })

  app.get('/performance', { ...admin, schema: { tags, summary: 'Slowest statements (pg_stat_statements when installed)', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) }, { additionalProperties: false }), response: withErrors({ 200: Type.Any() }) } }, async (request) => {
    const ext = await app.db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if (ext.rows.length === 0) {
      return { available: false, statements: [], note: 'pg_stat_statements is not installed: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements to see the slowest statements' }
    }
    const { rows } = await app.db.query(
      `SELECT queryid::text AS query_id, left(query, 500) AS query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, max_exec_time AS max_ms, rows
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY mean_exec_time DESC LIMIT $1`,
      [request.query.limit]
    )
    return { available: true, statements: rows }
  })

  app.get('/collections', { ...admin, schema: { tags, summary: 'Tables: user_data (writable) and the gateway\'s own (read-only)', response: withErrors({ 200: Type.Object({ collections: Type.Array(CollectionSchema) }) }) } }, async () => ({ collections: await listCollections() }))

  app.get('/collections/:name', { ...admin, schema: { tags, summary: 'One table with its columns', params: NameParams, response: withErrors({ 200: CollectionSchema }) } }, async (request) => {
    const r = await resolve(request.params.name)
    const [c] = await listCollections({ schema: r.schema, name: request.params.name })
    const cols = await app.db.query<{ name: string; type: string; nullable: string; default: string | null }>(
      'SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [r.schema, request.params.name]
    )
    return { ...c, columns: cols.rows.map((x) => ({ name: x.name, type: x.type, nullable: x.nullable === 'YES', default: x.default })) }
  })

  app.post('/collections', {
    ...superAdmin,
    schema: {
      tags,
      errors: [409], summary: 'Create a table in user_data (super_admin). Without columns: id uuid, data jsonb, created_at',
      body: Type.Object({ name: Type.String({ pattern: IDENT }), columns: Type.Optional(Type.Array(ColumnSchema, { minItems: 1, maxItems: 100 })) }, { additionalProperties: false }),
      response: withErrors({ 201: CollectionSchema })
    }
  }, async (request, reply) => {
    const { name } = request.body
    const taken = await app.db.query("SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND table_schema = ANY($2)", [name, [USER_SCHEMA, 'public']])
    if (taken.rows.length > 0) throw new LucidError('ALREADY_EXISTS', `A collection named ${name} exists (names are unique across user_data and the gateway's tables)`)
    const columns = request.body.columns ?? [
      { name: 'id', type: 'uuid', nullable: false, unique: false, primary_key: true, default: 'gen_random_uuid()' },
      { name: 'data', type: 'jsonb', nullable: false, unique: false, primary_key: false, default: '{}' },
      { name: 'created_at', type: 'timestamptz', nullable: false, unique: false, primary_key: false, default: 'now()' }
    ] as Static<typeof ColumnSchema>[]
    const names = new Set(columns.map((c) => c.name))
    if (names.size !== columns.length) throw new LucidError('INVALID_REQUEST', 'column names must be unique')
    const pks = columns.filter((c) => c.primary_key)
    const defs = columns.map((c) => {
      const d = defaultLiteral(c)
      return [q(c.name), c.type, c.nullable && !c.primary_key ? '' : 'NOT NULL', c.unique && !c.primary_key ? 'UNIQUE' : '', d === undefined ? '' : `DEFAULT ${d}`].filter(Boolean).join(' ')
    })
    if (pks.length > 0) defs.push(`PRIMARY KEY (${pks.map((c) => q(c.name)).join(', ')})`)
    await app.db.exec(`CREATE TABLE ${q(USER_SCHEMA)}.${q(name)} (${defs.join(', ')})`).catch((err: Error & { code?: string }) => {
      if (err.code?.startsWith('22') || err.code?.startsWith('42')) throw new LucidError('INVALID_REQUEST', `Cannot create ${name}: ${err.message}`)
      throw err
    })
    await audit(request, 'collection_created', name, { columns: columns.map((c) => `${c.name} ${c.type}`) })
    const [c] = await listCollections({ schema: USER_SCHEMA, name })
    return reply.code(201).send(c)
  })

  app.put('/collections/:name', { ...superAdmin, schema: { tags, errors: [409], summary: 'Rename a user_data table (super_admin)', params: NameParams, body: Type.Object({ new_name: Type.String({ pattern: IDENT }) }, { additionalProperties: false }), response: withErrors({ 200: CollectionSchema }) } }, async (request) => {
    const target = await writable(request.params.name)
    const taken = await app.db.query('SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND table_schema = ANY($2)', [request.body.new_name, [USER_SCHEMA, 'public']])
    if (taken.rows.length > 0) throw new LucidError('ALREADY_EXISTS', `A collection named ${request.body.new_name} exists`)
    await app.db.exec(`ALTER TABLE ${target} RENAME TO ${ident(request.body.new_name, 'new_name')}`)
    await audit(request, 'collection_renamed', request.params.name, { new_name: request.body.new_name })
    const [c] = await listCollections({ schema: USER_SCHEMA, name: request.body.new_name })
    return c
  })

  app.delete('/collections/:name', { ...superAdmin, schema: { tags, summary: 'Drop a user_data table (super_admin, confirm=true)', params: NameParams, querystring: Confirm, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    requireConfirm(request)
    const target = await writable(request.params.name)
    await app.db.exec(`DROP TABLE ${target}`).catch((err: Error & { code?: string }) => {
      if (err.code === '2BP01') throw new LucidError('INVALID_REQUEST', `Cannot drop ${request.params.name}: other objects depend on it`)
      throw err
    })
    await audit(request, 'collection_dropped', request.params.name)
    return reply.code(204).send(null)
  })

  app.get('/collections/:name/count', { ...admin, schema: { tags, summary: 'Exact row count', params: NameParams, response: withErrors({ 200: Type.Object({ name: Type.String(), count: Type.Integer() }) }) } }, async (request) => {
    const r = await resolve(request.params.name)
    const { rows } = await app.db.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${q(r.schema)}.${q(request.params.name)}`)
    return { name: request.params.name, count: Number(rows[0].n) }
  })

  app.post('/collections/:name/validate', { ...admin, schema: { tags, summary: 'Constraint and index checks', params: NameParams, response: withErrors({ 200: Type.Object({ name: Type.String(), valid: Type.Boolean(), checks: Type.Array(Type.Object({ check: Type.String(), ok: Type.Boolean(), detail: Type.String() })) }) }) } }, async (request) => {
    const r = await resolve(request.params.name)
    const rel = `${q(r.schema)}.${q(request.params.name)}`
    const checks: { check: string; ok: boolean; detail: string }[] = []
    const cons = await app.db.query<{ name: string; type: string; validated: boolean }>('SELECT conname AS name, contype AS type, convalidated AS validated FROM pg_constraint WHERE conrelid = $1::regclass', [rel])
    for (const c of cons.rows) checks.push({ check: `constraint ${c.name}`, ok: c.validated, detail: c.validated ? 'validated' : 'NOT VALID: existing rows were never checked' })
    const idx = await app.db.query<{ name: string; valid: boolean; ready: boolean }>('SELECT c.relname AS name, i.indisvalid AS valid, i.indisready AS ready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass', [rel])
    for (const i of idx.rows) checks.push({ check: `index ${i.name}`, ok: i.valid && i.ready, detail: i.valid && i.ready ? 'valid' : 'invalid (a failed concurrent build?): drop and recreate, or reindex' })
    // Scan the table: every row readable, and NOT NULL columns hold no nulls.
    const notNull = await app.db.query<{ col: string }>("SELECT column_name AS col FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_nullable = 'NO'", [r.schema, request.params.name])
    const nullChecks = notNull.rows.map((c) => `count(*) FILTER (WHERE ${q(c.col)} IS NULL)`).join(' + ') || '0'
    const scan = await app.db.query<{ n: number; nulls: number }>(`SELECT count(*)::bigint AS n, (${nullChecks})::bigint AS nulls FROM ${rel}`)
    checks.push({ check: 'rows', ok: Number(scan.rows[0].nulls) === 0, detail: `${Number(scan.rows[0].n)} rows read, ${Number(scan.rows[0].nulls)} nulls in NOT NULL columns` })
    return { name: request.params.name, valid: checks.every((c) => c.ok), checks }
  })

  async function indexes(schema: string, table: string, only?: string): Promise<Static<typeof IndexSchema>[]> {
    const { rows } = await app.db.query<{ name: string; def: string; uniq: boolean; prim: boolean; valid: boolean; size: number; scans: number; reads: number }>(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisunique AS uniq, i.indisprimary AS prim, i.indisvalid AS valid,
              pg_relation_size(i.indexrelid) AS size, COALESCE(s.idx_scan, 0) AS scans, COALESCE(s.idx_tup_read, 0) AS reads
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace n ON n.oid = tc.relnamespace
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
        WHERE n.nspname = $1 AND tc.relname = $2 ${only === undefined ? '' : 'AND ic.relname = $3'}
        ORDER BY ic.relname`,
      only === undefined ? [schema, table] : [schema, table, only]
    )
    return rows.map((r) => ({ name: r.name, definition: r.def, unique: r.uniq, primary: r.prim, valid: r.valid, size_bytes: Number(r.size), scans: Number(r.scans), tuples_read: Number(r.reads) }))
  }

  app.get('/collections/:name/indexes', { ...admin, schema: { tags, summary: 'Indexes with usage statistics', params: NameParams, response: withErrors({ 200: Type.Object({ indexes: Type.Array(IndexSchema) }) }) } }, async (request) => {
    const r = await resolve(request.params.name)
    return { indexes: await indexes(r.schema, request.params.name) }
  })

  app.get('/collections/:name/indexes/:index_name', { ...admin, schema: { tags, summary: 'One index with usage statistics', params: IndexParams, response: withErrors({ 200: IndexSchema }) } }, async (request) => {
    const r = await resolve(request.params.name)
    const [i] = await indexes(r.schema, request.params.name, request.params.index_name)
    if (i === undefined) throw new LucidError('NOT_FOUND', `Index ${request.params.index_name} not found on ${request.params.name}`)
    return i
  })

  app.post('/collections/:name/indexes', {
    ...superAdmin,
    schema: {
      tags,
      errors: [409], summary: 'Create an index on a user_data table (super_admin); CONCURRENTLY on PostgreSQL',
      params: NameParams,
      body: Type.Object({
        name: Type.Optional(Type.String({ pattern: IDENT })),
        columns: Type.Array(Type.Object({ name: Type.String({ pattern: IDENT }), order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }) }, { additionalProperties: false }), { minItems: 1, maxItems: 8 }),
        unique: Type.Boolean({ default: false }),
        // Partial indexes only in forms that cannot carry SQL: IS NOT NULL, or equality with a bound-free literal.
        where: Type.Optional(Type.Object({ column: Type.String({ pattern: IDENT }), op: Type.Union([Type.Literal('is_not_null'), Type.Literal('is_null'), Type.Literal('eq')]), value: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])) }, { additionalProperties: false }))
      }, { additionalProperties: false }),
      response: withErrors({ 201: IndexSchema })
    }
  }, async (request, reply) => {
    const target = await writable(request.params.name)
    const cols = request.body.columns
    const indexName = request.body.name ?? `${request.params.name}_${cols.map((c) => c.name).join('_')}_idx`.slice(0, 63)
    ident(indexName, 'index name')
    const known = new Set((await app.db.query<{ c: string }>('SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [USER_SCHEMA, request.params.name])).rows.map((r) => r.c))
    for (const c of [...cols.map((c) => c.name), ...(request.body.where ? [request.body.where.column] : [])]) if (!known.has(c)) throw new LucidError('INVALID_REQUEST', `Column ${c} does not exist on ${request.params.name}`)
    let where = ''
    const w = request.body.where
    if (w !== undefined) {
      if (w.op === 'is_not_null') where = ` WHERE ${q(w.column)} IS NOT NULL`
      else if (w.op === 'is_null') where = ` WHERE ${q(w.column)} IS NULL`
      else {
        if (w.value === undefined) throw new LucidError('INVALID_REQUEST', 'where.value is required with op "eq"')
        const lit = typeof w.value === 'string' ? `'${w.value.replace(/'/g, "''")}'` : typeof w.value === 'number' ? (Number.isFinite(w.value) ? String(w.value) : 'NULL') : String(w.value)
        where = ` WHERE ${q(w.column)} = ${lit}`
      }
    }
    const exists = await app.db.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [USER_SCHEMA, indexName])
    if (exists.rows.length > 0) throw new LucidError('ALREADY_EXISTS', `Index ${indexName} exists`)
    await app.db.exec(`CREATE ${request.body.unique ? 'UNIQUE ' : ''}INDEX ${concurrently()}${q(indexName)} ON ${target} (${cols.map((c) => `${q(c.name)} ${c.order === 'desc' ? 'DESC' : 'ASC'}`).join(', ')})${where}`)
    // Duplicate rows under a unique index: 409, mapped by src/errors/domain.ts.
    await audit(request, 'index_created', request.params.name, { index: indexName, unique: request.body.unique })
    const [i] = await indexes(USER_SCHEMA, request.params.name, indexName)
    return reply.code(201).send(i)
  })

  app.delete('/collections/:name/indexes/:index_name', { ...superAdmin, schema: { tags, summary: 'Drop an index of a user_data table (super_admin, confirm=true)', params: IndexParams, querystring: Confirm, response: withErrors({ 204: Type.Null() }) } }, async (request, reply) => {
    requireConfirm(request)
    await writable(request.params.name)
    const [i] = await indexes(USER_SCHEMA, request.params.name, request.params.index_name)
    if (i === undefined) throw new LucidError('NOT_FOUND', `Index ${request.params.index_name} not found on ${request.params.name}`)
    if (i.primary) throw new LucidError('INVALID_REQUEST', 'The primary key index cannot be dropped')
    await app.db.exec(`DROP INDEX ${concurrently()}${q(USER_SCHEMA)}.${q(i.name)}`).catch((err: Error & { code?: string }) => {
      if (err.code === '2BP01') throw new LucidError('INVALID_REQUEST', `Index ${i.name} backs a constraint; drop the constraint instead`)
      throw err
    })
    await audit(request, 'index_dropped', request.params.name, { index: i.name })
    return reply.code(204).send(null)
  })

  app.post('/collections/:name/reindex', { ...superAdmin, schema: { tags, summary: 'Rebuild every index of a table (super_admin); CONCURRENTLY on PostgreSQL', params: NameParams, response: withErrors({ 200: Type.Object({ name: Type.String(), indexes: Type.Integer() }) }) } }, async (request) => {
    const r = await resolve(request.params.name)
    await app.db.exec(`REINDEX TABLE ${concurrently()}${q(r.schema)}.${q(request.params.name)}`)
    await audit(request, 'reindexed', request.params.name)
    return { name: request.params.name, indexes: (await indexes(r.schema, request.params.name)).length }
  })

  app.post('/indexes/recommended', { ...superAdmin, schema: { tags, summary: 'Create every recommended index on the gateway\'s own tables (super_admin)', response: withErrors({ 200: Type.Object({ created: Type.Array(Type.String()), existing: Type.Array(Type.String()) }) }) } }, async (request) => {
    const created: string[] = []
    const existing: string[] = []
    for (const ix of RECOMMENDED_INDEXES) {
      const found = await app.db.query("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = $1", [ix.name])
      if (found.rows.length > 0) {
        existing.push(ix.name)
        continue
      }
      await app.db.exec(`CREATE INDEX ${concurrently()}IF NOT EXISTS ${q(ix.name)} ON public.${q(ix.table)} ${ix.definition}`)
      created.push(ix.name)
    }
    await app.audit(request, { action: 'database.recommended_indexes', target_type: 'database', details: { created } })
    return { created, existing }
  })
}
