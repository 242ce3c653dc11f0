/**
 * DDL for the database admin API (issue 7, moved out of routes/database in issue 16): CREATE TABLE
 * and CREATE INDEX statements built from validated descriptions. DDL takes no bind parameters, so
 * every name goes through quoteIdent and every value through a literal of a fixed shape; callers
 * pass names that already match IDENT (the route schemas enforce it, `identifier` re-checks).
 */
import { LucidError } from '../errors.js'
import { quoteIdent } from './identifiers.js'

/** The one identifier shape the API accepts: lower-case, PostgreSQL's 63-byte limit. */
export const IDENT = '^[a-z_][a-z0-9_]{0,62}$'
const IDENT_RE = new RegExp(IDENT)

export const COLUMN_TYPES = [
  'text',
  'integer',
  'bigint',
  'boolean',
  'numeric',
  'double precision',
  'timestamptz',
  'date',
  'jsonb',
  'uuid',
  'bytea'
] as const
export type ColumnType = (typeof COLUMN_TYPES)[number]

export interface ColumnDefinition {
  name: string
  type: ColumnType
  nullable: boolean
  unique: boolean
  primary_key: boolean
  /** A literal; "now()" for timestamptz/date, "gen_random_uuid()" for uuid. */
  default?: string | number | boolean | null
}

export interface IndexDefinition {
  name: string
  columns: { name: string; order: 'asc' | 'desc' }[]
  unique: boolean
  /** Partial indexes only in forms that cannot carry SQL. */
  where?: { column: string; op: 'is_not_null' | 'is_null' | 'eq'; value?: string | number | boolean }
}

/** Without columns, a collection is a document table. */
export const DEFAULT_COLUMNS: readonly ColumnDefinition[] = [
  { name: 'id', type: 'uuid', nullable: false, unique: false, primary_key: true, default: 'gen_random_uuid()' },
  { name: 'data', type: 'jsonb', nullable: false, unique: false, primary_key: false, default: '{}' },
  { name: 'created_at', type: 'timestamptz', nullable: false, unique: false, primary_key: false, default: 'now()' }
]

/** The name quoted, after checking it against IDENT (422 naming `what` otherwise). */
export function identifier(name: string, what: string): string {
  if (!IDENT_RE.test(name)) throw new LucidError('INVALID_REQUEST', `${what} must match ${IDENT}`)
  return quoteIdent(name)
}

const stringLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`

/** Literal for a DEFAULT clause: numbers and booleans as such, strings quoted, two known functions. */
export function defaultLiteral(col: ColumnDefinition): string | undefined {
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
  return `${stringLiteral(d)}::${col.type}`
}

/** CREATE TABLE schema.name (...); 422 when two columns share a name. */
export function createTableSql(schema: string, name: string, columns: readonly ColumnDefinition[]): string {
  if (new Set(columns.map((c) => c.name)).size !== columns.length)
    throw new LucidError('INVALID_REQUEST', 'column names must be unique')
  const pks = columns.filter((c) => c.primary_key)
  const defs = columns.map((c) => {
    const d = defaultLiteral(c)
    return [
      quoteIdent(c.name),
      c.type,
      c.nullable && !c.primary_key ? '' : 'NOT NULL',
      c.unique && !c.primary_key ? 'UNIQUE' : '',
      d === undefined ? '' : `DEFAULT ${d}`
    ]
      .filter(Boolean)
      .join(' ')
  })
  if (pks.length > 0) defs.push(`PRIMARY KEY (${pks.map((c) => quoteIdent(c.name)).join(', ')})`)
  return `CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)} (${defs.join(', ')})`
}

/** ` WHERE ...` of a partial index ('' for none); an "eq" value becomes a quoted literal, never SQL. */
export function partialIndexWhere(w: IndexDefinition['where']): string {
  if (w === undefined) return ''
  const col = quoteIdent(w.column)
  if (w.op === 'is_not_null') return ` WHERE ${col} IS NOT NULL`
  if (w.op === 'is_null') return ` WHERE ${col} IS NULL`
  if (w.value === undefined) throw new LucidError('INVALID_REQUEST', 'where.value is required with op "eq"')
  const lit =
    typeof w.value === 'string'
      ? stringLiteral(w.value)
      : typeof w.value === 'number'
        ? Number.isFinite(w.value)
          ? String(w.value)
          : 'NULL'
        : String(w.value)
  return ` WHERE ${col} = ${lit}`
}

/** CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON schema.table (...) [WHERE ...]. */
export function createIndexSql(schema: string, table: string, ix: IndexDefinition, concurrently: boolean): string {
  const cols = ix.columns.map((c) => `${quoteIdent(c.name)} ${c.order === 'desc' ? 'DESC' : 'ASC'}`).join(', ')
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${concurrently ? 'CONCURRENTLY ' : ''}${quoteIdent(ix.name)} ON ${quoteIdent(schema)}.${quoteIdent(table)} (${cols})${partialIndexWhere(ix.where)}`
}
