/**
 * /api/v1/search (issue 7): PostgreSQL full-text search for admins over sessions, manifests,
 * blocks, transactions, users and the audit log (CONTRACT.md: no Elasticsearch). Queries go
 * through websearch_to_tsquery, which accepts any text without syntax errors; matches come back
 * ranked (ts_rank) and highlighted (ts_headline). Suggestions use pg_trgm when it is installed,
 * prefix matching otherwise. Every table expression below is constant SQL from this file.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { withErrors } from '../../schemas/common.js'
import { auditReads } from '../shared/audit-reads.js'

interface SearchIndex {
  /** FROM clause (with its alias `x`). */
  from: string
  /** Rows that exist (soft deletes excluded). */
  where: string
  /** The searchable text; for indexed tables exactly the GIN index expression. */
  doc: string
  id: string
  title: string
  time: string
  /** Columns returned as the document. */
  select: string
  /** Fields `aggregate` may group by, and `filters` may match exactly. */
  fields: string[]
}

const INDICES: Record<string, SearchIndex> = {
  sessions: {
    from: 'sessions x', where: 'x.deleted_at IS NULL', doc: "x.name || ' ' || coalesce(x.description, '')", id: 'x.session_id::text', title: 'x.name', time: 'x.created_at',
    select: 'x.session_id, x.user_id, x.name, x.description, x.status, x.created_at', fields: ['status', 'user_id']
  },
  manifests: {
    from: 'manifests x', where: 'true', doc: "x.merkle_root || ' ' || x.session_id::text || ' ' || coalesce(x.anchor_txid, '') || ' ' || coalesce(x.anchor_status, '')", id: 'x.manifest_id::text', title: 'x.merkle_root', time: 'x.created_at',
    select: 'x.manifest_id, x.session_id, x.merkle_root, x.chunk_count, x.anchor_status, x.anchor_txid, x.created_at', fields: ['anchor_status']
  },
  blocks: {
    from: 'blocks x', where: 'true', doc: "x.hash || ' ' || x.merkle_root", id: 'x.height::text', title: 'x.hash', time: 'x.block_timestamp',
    select: 'x.height, x.hash, x.previous_hash, x.merkle_root, x.block_timestamp, x.transaction_count', fields: ['status']
  },
  transactions: {
    from: 'transactions x', where: 'true', doc: "x.transaction_id || ' ' || x.type || ' ' || coalesce(x.sender, '') || ' ' || coalesce(x.recipient, '') || ' ' || x.data::text", id: 'x.transaction_id', title: 'x.type', time: 'x.confirmed_at',
    select: 'x.transaction_id, x.block_height, x.type, x.status, x.sender, x.recipient, x.amount, x.data, x.confirmed_at', fields: ['type', 'status', 'sender', 'recipient']
  },
  users: {
    from: 'users x', where: 'x.deleted_at IS NULL', doc: "coalesce(x.username, '') || ' ' || coalesce(x.email, '') || ' ' || coalesce(x.tron_address, '') || ' ' || coalesce(x.first_name, '') || ' ' || coalesce(x.last_name, '')", id: 'x.user_id::text', title: "coalesce(x.username, x.email, x.tron_address)", time: 'x.created_at',
    select: 'x.user_id, x.username, x.email, x.tron_address, x.role, x.status, x.created_at', fields: ['role', 'status', 'wallet_type']
  },
  'audit-logs': {
    from: 'audit_log x', where: 'true', doc: "x.action || ' ' || coalesce(x.target_type, '') || ' ' || coalesce(x.target_id, '') || ' ' || x.details::text", id: 'x.audit_id::text', title: 'x.action', time: 'x.occurred_at',
    select: 'x.audit_id, x.occurred_at, x.actor_id, x.action, x.target_type, x.target_id, x.outcome', fields: ['action', 'outcome', 'target_type', 'actor_role']
  }
}
const INDEX_NAMES = Object.keys(INDICES)
const IndexName = Type.Union(INDEX_NAMES.map((n) => Type.Literal(n)))
const Query = Type.String({ minLength: 1, maxLength: 200 })
const FieldValue = Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])

const QueryBody = Type.Object({
  query: Query,
  index: Type.Optional(IndexName),
  filters: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z_]{1,40}$' }), FieldValue)),
  size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  from: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
  sort: Type.Union([Type.Literal('relevance'), Type.Literal('newest'), Type.Literal('oldest')], { default: 'relevance' })
}, { additionalProperties: false })

const HitSchema = Type.Object({ index: Type.String(), id: Type.String(), score: Type.Number(), title: Type.Union([Type.String(), Type.Null()]), highlight: Type.String(), document: Type.Record(Type.String(), Type.Unknown()) })
const ResultSchema = Type.Object({ hits: Type.Array(HitSchema), total: Type.Integer(), took_ms: Type.Number() })

export default async function searchRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  auditReads(app, 'search', ['/api/v1/search/query', '/api/v1/search/aggregate'])
  const tags = ['search']
  const admin = { onRequest: [app.authenticate, app.requireRole('admin')] }
  const superAdmin = { onRequest: [app.authenticate, app.requireRole('super_admin')] }

  // Trigram suggestions when the extension can be had (trusted since PostgreSQL 13; bundled in PGlite).
  const trigram = await app.db.exec('CREATE EXTENSION IF NOT EXISTS pg_trgm').then(() => true, () => false)

  async function search(index: string, body: Static<typeof QueryBody>): Promise<{ hits: Static<typeof HitSchema>[]; total: number }> {
    const ix = INDICES[index]
    const params: unknown[] = [body.query]
    const conds = [ix.where, `to_tsvector('simple', ${ix.doc}) @@ websearch_to_tsquery('simple', $1)`]
    for (const [field, value] of Object.entries(body.filters ?? {})) {
      if (!ix.fields.includes(field)) throw new LucidError('INVALID_REQUEST', `filter ${field} is not available on ${index} (${ix.fields.join(', ')})`)
      conds.push(`x.${field}::text = $${params.push(String(value))}`)
    }
    const order = body.sort === 'newest' ? `${ix.time} DESC NULLS LAST` : body.sort === 'oldest' ? `${ix.time} ASC NULLS LAST` : 'score DESC'
    const where = conds.join(' AND ')
    const [rows, count] = await Promise.all([
      app.db.query<{ id: string; title: string | null; score: number; highlight: string; doc: Record<string, unknown> }>(
        `SELECT ${ix.id} AS id, ${ix.title} AS title,
                ts_rank(to_tsvector('simple', ${ix.doc}), websearch_to_tsquery('simple', $1)) AS score,
                ts_headline('simple', ${ix.doc}, websearch_to_tsquery('simple', $1), 'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MaxWords=20, MinWords=5') AS highlight,
                row_to_json((SELECT d FROM (SELECT ${ix.select}) d)) AS doc
           FROM ${ix.from} WHERE ${where} ORDER BY ${order} LIMIT ${body.size} OFFSET ${body.from}`,
        params
      ),
      app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ix.from} WHERE ${where}`, params)
    ])
    return {
      hits: rows.rows.map((r) => ({ index, id: r.id, title: r.title, score: Math.round(Number(r.score) * 1e6) / 1e6, highlight: r.highlight, document: typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc })),
      total: Number(count.rows[0].n)
    }
  }

  app.post('/query', { ...admin, schema: { tags, summary: 'Full-text search in one index or all', body: QueryBody, response: withErrors({ 200: ResultSchema }) } }, async (request) => {
    const started = performance.now()
    const body = request.body
    if (body.index !== undefined) return { ...(await search(body.index, body)), took_ms: Math.round(performance.now() - started) }
    if (body.filters !== undefined) throw new LucidError('INVALID_REQUEST', 'filters need an index')
    // Across indices: each contributes its best size+from hits, merged by score.
    const parts = await Promise.all(INDEX_NAMES.map((n) => search(n, { ...body, from: 0, size: Math.min(100, body.from + body.size) })))
    const hits = parts.flatMap((p) => p.hits).sort((a, b) => b.score - a.score).slice(body.from, body.from + body.size)
    return { hits, total: parts.reduce((a, p) => a + p.total, 0), took_ms: Math.round(performance.now() - started) }
  })

  app.get('/indices', { ...admin, schema: { tags, summary: 'Searchable indices with document counts', response: withErrors({ 200: Type.Object({ indices: Type.Array(Type.Object({ name: Type.String(), documents: Type.Integer(), fields: Type.Array(Type.String()) })), suggestions: Type.String() }) }) } }, async () => {
    const indices = await Promise.all(INDEX_NAMES.map(async (name) => {
      const ix = INDICES[name]
      const { rows } = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ix.from} WHERE ${ix.where}`)
      return { name, documents: Number(rows[0].n), fields: ix.fields }
    }))
    return { indices, suggestions: trigram ? 'pg_trgm' : 'prefix' }
  })

  app.get('/suggest', {
    ...admin,
    schema: { tags, summary: 'Words starting like the query (pg_trgm similarity when installed)', querystring: Type.Object({ query: Type.String({ minLength: 1, maxLength: 50 }), index: IndexName, size: Type.Integer({ minimum: 1, maximum: 20, default: 10 }) }, { additionalProperties: false }), response: withErrors({ 200: Type.Object({ suggestions: Type.Array(Type.Object({ text: Type.String(), documents: Type.Integer() })) }) }) }
  }, async (request) => {
    const ix = INDICES[request.query.index]
    const prefix = request.query.query.toLowerCase()
    const like = `${prefix.replace(/[\\%_]/g, '\\$&')}%`
    // ts_stat takes the statement as text: it is built only from this file's constants.
    const stat = `SELECT to_tsvector('simple', ${ix.doc}) FROM ${ix.from} WHERE ${ix.where}`
    const rank = trigram ? 'similarity(word, $2) DESC, ndoc DESC' : 'ndoc DESC, word'
    const { rows } = await app.db.query<{ word: string; ndoc: number }>(
      `SELECT word, ndoc FROM ts_stat($1) WHERE word LIKE $3 ORDER BY ${rank} LIMIT ${request.query.size}`,
      [stat, prefix, like]
    )
    return { suggestions: rows.map((r) => ({ text: r.word, documents: Number(r.ndoc) })) }
  })

  app.post('/aggregate', {
    ...admin,
    schema: {
      tags,
      summary: 'Counts by field value or by time bucket, optionally within a query',
      body: Type.Object({ index: IndexName, field: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })), interval: Type.Optional(Type.Union(['hour', 'day', 'week', 'month'].map((i) => Type.Literal(i)))), query: Type.Optional(Query), size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ index: Type.String(), buckets: Type.Array(Type.Object({ key: Type.Union([Type.String(), Type.Null()]), count: Type.Integer() })) }) })
    }
  }, async (request) => {
    const { index, field, interval, query, size } = request.body
    const ix = INDICES[index]
    if ((field === undefined) === (interval === undefined)) throw new LucidError('INVALID_REQUEST', 'give exactly one of field or interval')
    if (field !== undefined && !ix.fields.includes(field)) throw new LucidError('INVALID_REQUEST', `field ${field} is not available on ${index} (${ix.fields.join(', ')})`)
    const params: unknown[] = []
    const conds = [ix.where]
    if (query !== undefined) conds.push(`to_tsvector('simple', ${ix.doc}) @@ websearch_to_tsquery('simple', $${params.push(query)})`)
    // date_trunc's unit is bound; the field is one of the whitelisted column names above.
    const key = field !== undefined ? `x.${field}::text` : `to_char(date_trunc($${params.push(interval)}, ${ix.time}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
    const { rows } = await app.db.query<{ key: string | null; n: number }>(
      `SELECT ${key} AS key, count(*)::int AS n FROM ${ix.from} WHERE ${conds.join(' AND ')} GROUP BY 1 ORDER BY ${field !== undefined ? '2 DESC, 1' : '1'} LIMIT ${size}`,
      params
    )
    return { index, buckets: rows.map((r) => ({ key: r.key, count: Number(r.n) })) }
  })

  app.post('/reindex', { ...superAdmin, schema: { tags, summary: 'Rebuild the full-text indexes (super_admin)', response: withErrors({ 200: Type.Object({ reindexed: Type.Array(Type.String()) }) }) } }, async (request) => {
    const names = ['sessions_text_idx', 'transactions_text_idx', 'blocks_text_idx']
    for (const n of names) await app.db.exec(`REINDEX INDEX ${app.db.kind === 'postgresql' ? 'CONCURRENTLY ' : ''}public.${n}`)
    await app.audit(request, { action: 'search.reindexed', target_type: 'search', details: { indexes: names } })
    return { reindexed: names }
  })

  for (const name of INDEX_NAMES) {
    app.get(`/${name}`, {
      ...admin,
      schema: { tags, summary: `Search ${name}`, querystring: Type.Object({ query: Query, size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), from: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }), sort: Type.Union([Type.Literal('relevance'), Type.Literal('newest'), Type.Literal('oldest')], { default: 'relevance' }) }, { additionalProperties: false }), response: withErrors({ 200: ResultSchema }) }
    }, async (request) => {
      const started = performance.now()
      return { ...(await search(name, request.query)), took_ms: Math.round(performance.now() - started) }
    })
  }
}
