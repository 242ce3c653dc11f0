/**
 * Full-text search over the gateway's tables (issue 7; out of routes/search in issue 16):
 * PostgreSQL full-text search, no Elasticsearch (CONTRACT.md). Queries go through
 * websearch_to_tsquery, which accepts any text without syntax errors; matches come back ranked
 * (ts_rank) and highlighted (ts_headline). Every table expression below is constant SQL from this
 * file; request values are bound, and a field name reaches SQL only after `fieldsOf` listed it.
 */
import type { Db } from '../db.js'
import { quoteIdent } from '../identifiers.js'

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
    from: 'sessions x',
    where: 'x.deleted_at IS NULL',
    doc: "x.name || ' ' || coalesce(x.description, '')",
    id: 'x.session_id::text',
    title: 'x.name',
    time: 'x.created_at',
    select: 'x.session_id, x.user_id, x.name, x.description, x.status, x.created_at',
    fields: ['status', 'user_id']
  },
  manifests: {
    from: 'manifests x',
    where: 'true',
    doc: "x.merkle_root || ' ' || x.session_id::text || ' ' || coalesce(x.anchor_txid, '') || ' ' || coalesce(x.anchor_status, '')",
    id: 'x.manifest_id::text',
    title: 'x.merkle_root',
    time: 'x.created_at',
    select: 'x.manifest_id, x.session_id, x.merkle_root, x.chunk_count, x.anchor_status, x.anchor_txid, x.created_at',
    fields: ['anchor_status']
  },
  blocks: {
    from: 'blocks x',
    where: 'true',
    doc: "x.hash || ' ' || x.merkle_root",
    id: 'x.height::text',
    title: 'x.hash',
    time: 'x.block_timestamp',
    select: 'x.height, x.hash, x.previous_hash, x.merkle_root, x.block_timestamp, x.transaction_count',
    fields: ['status']
  },
  transactions: {
    from: 'transactions x',
    where: 'true',
    doc: "x.transaction_id || ' ' || x.type || ' ' || coalesce(x.sender, '') || ' ' || coalesce(x.recipient, '') || ' ' || x.data::text",
    id: 'x.transaction_id',
    title: 'x.type',
    time: 'x.confirmed_at',
    select:
      'x.transaction_id, x.block_height, x.type, x.status, x.sender, x.recipient, x.amount, x.data, x.confirmed_at',
    fields: ['type', 'status', 'sender', 'recipient']
  },
  users: {
    from: 'users x',
    where: 'x.deleted_at IS NULL',
    doc: "coalesce(x.username, '') || ' ' || coalesce(x.email, '') || ' ' || coalesce(x.tron_address, '') || ' ' || coalesce(x.first_name, '') || ' ' || coalesce(x.last_name, '')",
    id: 'x.user_id::text',
    title: 'coalesce(x.username, x.email, x.tron_address)',
    time: 'x.created_at',
    select: 'x.user_id, x.username, x.email, x.tron_address, x.role, x.status, x.created_at',
    fields: ['role', 'status', 'wallet_type']
  },
  'audit-logs': {
    from: 'audit_log x',
    where: 'true',
    doc: "x.action || ' ' || coalesce(x.target_type, '') || ' ' || coalesce(x.target_id, '') || ' ' || x.details::text",
    id: 'x.audit_id::text',
    title: 'x.action',
    time: 'x.occurred_at',
    select: 'x.audit_id, x.occurred_at, x.actor_id, x.action, x.target_type, x.target_id, x.outcome',
    fields: ['action', 'outcome', 'target_type', 'actor_role']
  }
}

/** The searchable indices, in the order the API lists them. */
export const SEARCH_INDEX_NAMES = Object.keys(INDICES) as readonly string[]
/** Full-text indexes of the migrations that `reindex` rebuilds. */
export const TEXT_INDEXES = ['sessions_text_idx', 'transactions_text_idx', 'blocks_text_idx'] as const

export interface SearchHit {
  index: string
  id: string
  title: string | null
  /** ts_rank, rounded to 6 decimals. */
  score: number
  highlight: string
  document: Record<string, unknown>
}

export interface SearchQuery {
  query: string
  /** Exact matches on fields of `fieldsOf(index)`; the caller checks the names. */
  filters?: Record<string, string | number | boolean>
  sort: 'relevance' | 'newest' | 'oldest'
  size: number
  from: number
}

export interface AggregateQuery {
  /** One of `fieldsOf(index)`, or else `interval`. */
  field?: string
  interval?: string
  query?: string
  size: number
}

const tsMatch = (ix: SearchIndex, param: string) =>
  `to_tsvector('simple', ${ix.doc}) @@ websearch_to_tsquery('simple', ${param})`

/** Fields of an index that filters and aggregations may name. */
export const fieldsOf = (index: string): readonly string[] => INDICES[index].fields

function checkedFields(index: string, names: string[]): void {
  // A last line of defence: the route refuses unknown fields with a message before this.
  for (const n of names)
    if (!INDICES[index].fields.includes(n)) throw new Error(`field ${n} is not available on ${index}`)
}

export function createSearchRepository(db: Db) {
  return {
    /** Trigram suggestions when the extension can be had (trusted since PostgreSQL 13; bundled in PGlite). */
    async enableTrigram(): Promise<boolean> {
      return db.exec('CREATE EXTENSION IF NOT EXISTS pg_trgm').then(
        () => true,
        () => false
      )
    },

    async search(index: string, q: SearchQuery): Promise<{ hits: SearchHit[]; total: number }> {
      const ix = INDICES[index]
      const filters = Object.entries(q.filters ?? {})
      checkedFields(
        index,
        filters.map(([f]) => f)
      )
      const params: unknown[] = [q.query]
      const conds = [ix.where, tsMatch(ix, '$1')]
      for (const [field, value] of filters) conds.push(`x.${quoteIdent(field)}::text = $${params.push(String(value))}`)
      const order =
        q.sort === 'newest'
          ? `${ix.time} DESC NULLS LAST`
          : q.sort === 'oldest'
            ? `${ix.time} ASC NULLS LAST`
            : 'score DESC'
      const where = conds.join(' AND ')
      const [rows, count] = await Promise.all([
        db.query<{
          id: string
          title: string | null
          score: number
          highlight: string
          doc: Record<string, unknown> | string
        }>(
          `SELECT ${ix.id} AS id, ${ix.title} AS title,
                  ts_rank(to_tsvector('simple', ${ix.doc}), websearch_to_tsquery('simple', $1)) AS score,
                  ts_headline('simple', ${ix.doc}, websearch_to_tsquery('simple', $1), 'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MaxWords=20, MinWords=5') AS highlight,
                  row_to_json((SELECT d FROM (SELECT ${ix.select}) d)) AS doc
             FROM ${ix.from} WHERE ${where} ORDER BY ${order} LIMIT ${Math.trunc(q.size)} OFFSET ${Math.trunc(q.from)}`,
          params
        ),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ix.from} WHERE ${where}`, params)
      ])
      return {
        hits: rows.rows.map((r) => ({
          index,
          id: r.id,
          title: r.title,
          score: Math.round(Number(r.score) * 1e6) / 1e6,
          highlight: r.highlight,
          document: typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc
        })),
        total: Number(count.rows[0].n)
      }
    },

    /** Documents in an index (soft-deleted rows excluded). */
    async count(index: string): Promise<number> {
      const ix = INDICES[index]
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ix.from} WHERE ${ix.where}`)
      return Number(rows[0].n)
    },

    /** Words of the index starting with `prefix`, by trigram similarity when `trigram`, else by document count. */
    async suggest(
      index: string,
      prefix: string,
      size: number,
      trigram: boolean
    ): Promise<{ text: string; documents: number }[]> {
      const ix = INDICES[index]
      const like = `${prefix.replace(/[\\%_]/g, '\\$&')}%`
      // ts_stat takes the statement as text: it is built only from this file's constants.
      const stat = `SELECT to_tsvector('simple', ${ix.doc}) FROM ${ix.from} WHERE ${ix.where}`
      // Without pg_trgm the prefix is not bound at all: an unused parameter has no type and
      // PostgreSQL refuses the statement (the prefix mode used to answer 500).
      const [rank, params] = trigram
        ? ['similarity(word, $3) DESC, ndoc DESC', [stat, like, prefix]]
        : ['ndoc DESC, word', [stat, like]]
      const { rows } = await db.query<{ word: string; ndoc: number }>(
        `SELECT word, ndoc FROM ts_stat($1) WHERE word LIKE $2 ORDER BY ${rank} LIMIT ${Math.trunc(size)}`,
        params
      )
      return rows.map((r) => ({ text: r.word, documents: Number(r.ndoc) }))
    },

    /** Counts by field value (most frequent first) or by UTC time bucket (oldest first). */
    async aggregate(index: string, a: AggregateQuery): Promise<{ key: string | null; count: number }[]> {
      const ix = INDICES[index]
      if (a.field !== undefined) checkedFields(index, [a.field])
      const params: unknown[] = []
      const conds = [ix.where]
      if (a.query !== undefined) conds.push(tsMatch(ix, `$${params.push(a.query)}`))
      // date_trunc's unit is bound; the field is one of the listed column names above.
      const key =
        a.field !== undefined
          ? `x.${quoteIdent(a.field)}::text`
          : `to_char(date_trunc($${params.push(a.interval)}, ${ix.time}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
      const { rows } = await db.query<{ key: string | null; n: number }>(
        `SELECT ${key} AS key, count(*)::int AS n FROM ${ix.from} WHERE ${conds.join(' AND ')} GROUP BY 1 ORDER BY ${a.field !== undefined ? '2 DESC, 1' : '1'} LIMIT ${Math.trunc(a.size)}`,
        params
      )
      return rows.map((r) => ({ key: r.key, count: Number(r.n) }))
    },

    /** Rebuilds the full-text indexes (CONCURRENTLY on PostgreSQL); returns their names. */
    async reindex(): Promise<string[]> {
      for (const n of TEXT_INDEXES)
        await db.exec(`REINDEX INDEX ${db.kind === 'postgresql' ? 'CONCURRENTLY ' : ''}public.${quoteIdent(n)}`)
      return [...TEXT_INDEXES]
    }
  }
}

export type SearchRepository = ReturnType<typeof createSearchRepository>
