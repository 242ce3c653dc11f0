/**
 * The catalogue behind the database admin API (issue 7; out of routes/database in issue 16):
 * tables of the `user_data` schema and the gateway's own (`public`, read-only through the API),
 * their columns, indexes and statistics, and the DDL that changes them (built by src/data/ddl.ts).
 * Values are bound; names are quoted by src/data/identifiers.ts and validated by the caller.
 */
import { LucidError } from '../../errors.js'
import type { Db } from '../db.js'
import { createIndexSql, createTableSql, type ColumnDefinition, type IndexDefinition } from '../ddl.js'
import { quoteIdent, quoteTable as qualified } from '../identifiers.js'
import { RECOMMENDED_INDEXES } from '../recommended-indexes.js'
import type { CollectionRow, ColumnRow, IndexRow } from './database-catalog-rows.js'
import { createDatabaseStatistics } from './database-statistics.js'

/** The one schema whose tables the API may create, change and drop. */
export const USER_SCHEMA = 'user_data'
const SCHEMAS = [USER_SCHEMA, 'public']

export type {
  CollectionRow,
  ColumnRow,
  IndexRow,
  TableActivity,
  DatabaseStatistics,
  SlowStatement,
  Check
} from './database-catalog-rows.js'

type PgError = Error & { code?: string }

export function createDatabaseCatalogRepository(db: Db, opts: { log?: { warn(obj: object, msg: string): void } } = {}) {
  // CONCURRENTLY keeps writes flowing on a server; PGlite has one connection and no use for it.
  const concurrently = db.kind === 'postgresql'

  async function listCollections(filter?: { schema: string; name: string }): Promise<CollectionRow[]> {
    const params: unknown[] = [SCHEMAS]
    let where = ''
    if (filter !== undefined) {
      params.push(filter.schema, filter.name)
      where = 'AND n.nspname = $2 AND c.relname = $3'
    }
    const select = () =>
      db.query<{ name: string; schema: string; rows: number; size: number; isize: number }>(
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
      for (const r of unknown)
        await db
          .exec(`ANALYZE ${qualified(r.schema, r.name)}`)
          .catch((err: Error) => opts.log?.warn({ err, table: r.name }, 'ANALYZE for row estimates failed'))
      rows = (await select()).rows
    }
    return rows.map((r) => ({
      name: r.name,
      schema: r.schema,
      read_only: r.schema !== USER_SCHEMA,
      estimated_rows: Math.max(0, Number(r.rows)),
      size_bytes: Number(r.size),
      index_size_bytes: Number(r.isize)
    }))
  }

  async function indexes(schema: string, table: string, only?: string): Promise<IndexRow[]> {
    const { rows } = await db.query<{
      name: string
      def: string
      uniq: boolean
      prim: boolean
      valid: boolean
      size: number
      scans: number
      reads: number
    }>(
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
    return rows.map((r) => ({
      name: r.name,
      definition: r.def,
      unique: r.uniq,
      primary: r.prim,
      valid: r.valid,
      size_bytes: Number(r.size),
      scans: Number(r.scans),
      tuples_read: Number(r.reads)
    }))
  }

  async function relationExists(schema: string, name: string): Promise<boolean> {
    const { rows } = await db.query(
      'SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
      [schema, name]
    )
    return rows.length > 0
  }

  return {
    kind: db.kind,
    /** Round trip of `SELECT 1`, ms (Db.ping). */
    ping: () => db.ping(),
    version: () => db.version(),
    listCollections,
    indexes,
    relationExists,
    /** Server statistics, slow statements and a table's integrity checks (database-statistics.ts). */
    ...createDatabaseStatistics(db),

    async ensureUserSchema(): Promise<void> {
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(USER_SCHEMA)}`)
    },

    async hasExtension(name: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM pg_extension WHERE extname = $1', [name])
      return rows.length > 0
    },

    /** The schema holding a base table of that name, user_data before public; null if none. */
    async locate(name: string): Promise<string | null> {
      const { rows } = await db.query<{ schema: string }>(
        "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = $1 AND table_schema = ANY($2) AND table_type = 'BASE TABLE' ORDER BY table_schema = $3 DESC",
        [name, SCHEMAS, USER_SCHEMA]
      )
      return rows[0]?.schema ?? null
    },

    /** True when any table or view of either schema has the name (collection names are unique across both). */
    async nameTaken(name: string): Promise<boolean> {
      const { rows } = await db.query(
        'SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND table_schema = ANY($2)',
        [name, SCHEMAS]
      )
      return rows.length > 0
    },

    async columns(schema: string, table: string): Promise<ColumnRow[]> {
      const { rows } = await db.query<{ name: string; type: string; nullable: string; default: string | null }>(
        'SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [schema, table]
      )
      return rows.map((x) => ({ name: x.name, type: x.type, nullable: x.nullable === 'YES', default: x.default }))
    },

    async countRows(schema: string, table: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${qualified(schema, table)}`)
      return Number(rows[0].n)
    },

    /** In user_data; a statement PostgreSQL refuses (bad default, type) is a 422 naming the table. */
    async createTable(name: string, columns: readonly ColumnDefinition[]): Promise<void> {
      await db.exec(createTableSql(USER_SCHEMA, name, columns)).catch((err: PgError) => {
        if (err.code?.startsWith('22') || err.code?.startsWith('42'))
          throw new LucidError('INVALID_REQUEST', `Cannot create ${name}: ${err.message}`)
        throw err
      })
    },

    async renameTable(name: string, newName: string): Promise<void> {
      await db.exec(`ALTER TABLE ${qualified(USER_SCHEMA, name)} RENAME TO ${quoteIdent(newName)}`)
    },

    async dropTable(name: string): Promise<void> {
      await db.exec(`DROP TABLE ${qualified(USER_SCHEMA, name)}`).catch((err: PgError) => {
        if (err.code === '2BP01')
          throw new LucidError('INVALID_REQUEST', `Cannot drop ${name}: other objects depend on it`)
        throw err
      })
    },

    /** 409 when a relation of that name exists; a unique index over duplicates is a 409 too (src/errors/domain.ts). */
    async createIndex(table: string, ix: IndexDefinition): Promise<void> {
      const sql = createIndexSql(USER_SCHEMA, table, ix, concurrently)
      if (await relationExists(USER_SCHEMA, ix.name)) throw new LucidError('ALREADY_EXISTS', `Index ${ix.name} exists`)
      await db.exec(sql)
    },

    async dropIndex(name: string): Promise<void> {
      await db
        .exec(`DROP INDEX ${concurrently ? 'CONCURRENTLY ' : ''}${qualified(USER_SCHEMA, name)}`)
        .catch((err: PgError) => {
          if (err.code === '2BP01')
            throw new LucidError('INVALID_REQUEST', `Index ${name} backs a constraint; drop the constraint instead`)
          throw err
        })
    },

    async reindexTable(schema: string, table: string): Promise<void> {
      await db.exec(`REINDEX TABLE ${concurrently ? 'CONCURRENTLY ' : ''}${qualified(schema, table)}`)
    },

    /** Creates those of the gateway's recommended indexes (src/data/recommended-indexes.ts) that do not exist yet. */
    async createRecommended(list = RECOMMENDED_INDEXES): Promise<{ created: string[]; existing: string[] }> {
      const created: string[] = []
      const existing: string[] = []
      for (const ix of list) {
        if (await relationExists('public', ix.name)) {
          existing.push(ix.name)
          continue
        }
        await db.exec(
          `CREATE INDEX ${concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${quoteIdent(ix.name)} ON public.${quoteIdent(ix.table)} ${ix.definition}`
        )
        created.push(ix.name)
      }
      return { created, existing }
    }
  }
}

export type DatabaseCatalogRepository = ReturnType<typeof createDatabaseCatalogRepository>
