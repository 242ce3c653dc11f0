/**
 * Whole tables moved generically, for logical backups (src/backup): a read-only snapshot that
 * streams every row as PostgreSQL prints it (row_to_json), and a writing transaction that empties
 * tables, inserts rows back, resets their sequences and keeps chosen columns of the present rows.
 * The same SQL runs on PostgreSQL and PGlite; names are quoted by src/data/identifiers.ts, rows
 * travel as one JSON parameter. src/backup keeps the format, checksums, encryption and policy.
 */
import type { Db, Queryable } from '../db.js'
import { quoteIdent, quoteQualified as qualified } from '../identifiers.js'
import { schemaVersion } from '../migrate.js'

/** Every base table of `schemas`, `schema.table`, parents before children (self-references ignored). */
async function tablesInForeignKeyOrder(q: Queryable, schemas: string[]): Promise<string[]> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema = ANY($1) ORDER BY 1`,
    [schemas]
  )
  const tables = rows.map((r) => r.name)
  const { rows: fks } = await q.query<{ child: string; parent: string }>(
    `SELECT cn.nspname || '.' || c.relname AS child, pn.nspname || '.' || p.relname AS parent
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE k.contype = 'f'`
  )
  const ordered: string[] = []
  const seen = new Set<string>()
  const visit = (t: string, stack: Set<string>) => {
    if (seen.has(t) || stack.has(t)) return
    stack.add(t)
    for (const fk of fks) if (fk.child === t && fk.parent !== t && tables.includes(fk.parent)) visit(fk.parent, stack)
    stack.delete(t)
    seen.add(t)
    ordered.push(t)
  }
  for (const t of tables) visit(t, new Set())
  return ordered
}

/** What both sides see of the database: its schema version and its tables. */
export interface TableCatalog {
  schemaVersion(): Promise<number>
  tables(schemas: string[]): Promise<string[]>
}

export interface SnapshotReader extends TableCatalog {
  count(table: string): Promise<number>
  /** The table's rows in batches of at most `batch`, each row its JSON text (row_to_json). */
  rows(table: string, batch: number): AsyncGenerator<string[]>
}

export interface TableWriter extends TableCatalog {
  /** Empties the tables in one statement (no CASCADE: a referencing table left out fails, 0A000). */
  truncate(tables: string[]): Promise<void>
  /**
   * Inserts rows given as JSON objects into their stored (not generated) columns, identity values
   * included; with `skipExisting` a row whose key is present is skipped. Returns rows written.
   */
  insertRows(table: string, rows: Record<string, unknown>[], opts: { skipExisting: boolean }): Promise<number>
  /** Moves every serial or identity sequence of the tables past their highest value. */
  resetSequences(tables: string[]): Promise<void>
  /** The named columns of every row of the table. */
  selectColumns(table: string, columns: string[]): Promise<Record<string, unknown>[]>
  /**
   * Writes `columns` of `rows` over the rows with the same `key`; a column of `keepNonNull`
   * keeps its value when the given one is null.
   */
  overwriteColumns(
    table: string,
    key: string,
    rows: Record<string, unknown>[],
    columns: string[],
    keepNonNull: string[]
  ): Promise<void>
  /**
   * Sets revoked_at = now() (and `reason` into `reasonColumn`) on unrevoked rows whose uuid `key`
   * is not in `keep`; returns how many.
   */
  revokeAllExcept(
    table: string,
    key: string,
    keep: unknown[],
    reason?: { column: string; text: string }
  ): Promise<number>
}

function catalog(tx: Queryable): TableCatalog {
  return { schemaVersion: () => schemaVersion(tx), tables: (schemas) => tablesInForeignKeyOrder(tx, schemas) }
}

function reader(tx: Queryable): SnapshotReader {
  let cursors = 0
  return {
    ...catalog(tx),
    async count(table) {
      return Number((await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(table)}`)).rows[0].n)
    },
    async *rows(table, batch) {
      const cursor = `lucid_dump_${cursors++}`
      await tx.query(
        `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT row_to_json(x)::text AS r FROM ${qualified(table)} x`
      )
      for (;;) {
        const { rows } = await tx.query<{ r: string }>(`FETCH ${Number(batch)} FROM ${cursor}`)
        if (rows.length === 0) break
        yield rows.map((row) => row.r)
      }
      await tx.query(`CLOSE ${cursor}`)
    }
  }
}

function writer(tx: Queryable): TableWriter {
  const columnLists = new Map<string, string>()
  const columnList = async (table: string) => {
    let list = columnLists.get(table)
    if (list === undefined) {
      // Generated columns are recomputed, identity columns keep the given values.
      const { rows } = await tx.query<{ col: string }>(
        `SELECT column_name AS col FROM information_schema.columns
          WHERE table_schema || '.' || table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
        [table]
      )
      list = rows.map((c) => quoteIdent(c.col)).join(', ')
      columnLists.set(table, list)
    }
    return list
  }
  return {
    ...catalog(tx),
    async truncate(tables) {
      if (tables.length > 0) await tx.query(`TRUNCATE ${tables.map(qualified).join(', ')}`)
    },
    async insertRows(table, rows, opts) {
      if (rows.length === 0) return 0
      const list = await columnList(table)
      const t = qualified(table)
      const r = await tx.query(
        `INSERT INTO ${t} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${t}, $1::json)${opts.skipExisting ? ' ON CONFLICT DO NOTHING' : ''}`,
        [JSON.stringify(rows)]
      )
      return r.rowCount
    },
    async resetSequences(tables) {
      if (tables.length === 0) return
      const { rows: seqs } = await tx.query<{ tbl: string; col: string; seq: string | null }>(
        `SELECT c.table_schema || '.' || c.table_name AS tbl, c.column_name AS col,
                pg_get_serial_sequence(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name), c.column_name) AS seq
           FROM information_schema.columns c
          WHERE c.table_schema || '.' || c.table_name = ANY($1) AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')`,
        [tables]
      )
      for (const s of seqs) {
        if (s.seq === null) continue
        const t = qualified(s.tbl)
        await tx.query(
          `SELECT setval($1::regclass, GREATEST(COALESCE((SELECT max(${quoteIdent(s.col)}) FROM ${t}), 0), 1), (SELECT count(*) > 0 FROM ${t}))`,
          [s.seq]
        )
      }
    },
    async selectColumns(table, columns) {
      const { rows } = await tx.query<Record<string, unknown>>(
        `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${qualified(table)}`
      )
      return rows
    },
    async overwriteColumns(table, key, rows, columns, keepNonNull) {
      if (rows.length === 0) return
      const t = qualified(table)
      const set = columns
        .map(quoteIdent)
        .map((c, i) => (keepNonNull.includes(columns[i]) ? `${c} = COALESCE(p.${c}, t.${c})` : `${c} = p.${c}`))
        .join(', ')
      const k = quoteIdent(key)
      await tx.query(
        `UPDATE ${t} AS t SET ${set} FROM json_populate_recordset(NULL::${t}, $1::json) AS p WHERE t.${k} = p.${k}`,
        [JSON.stringify(rows)]
      )
    },
    async revokeAllExcept(table, key, keep, reason) {
      const params: unknown[] = [keep]
      const also = reason === undefined ? '' : `, ${quoteIdent(reason.column)} = $${params.push(reason.text)}`
      const r = await tx.query(
        `UPDATE ${qualified(table)} SET revoked_at = now()${also} WHERE revoked_at IS NULL AND NOT (${quoteIdent(key)} = ANY($1::uuid[]))`,
        params
      )
      return r.rowCount
    }
  }
}

/** Snapshots and restores over the database handle; each runs in its own transaction. */
export function createTableDataRepository(db: Db) {
  return {
    /** "postgresql" or "embedded": recorded in a backup's manifest. */
    kind: db.kind,
    /** Runs fn in one REPEATABLE READ, READ ONLY transaction: every table as of the same instant. */
    readSnapshot<T>(fn: (s: SnapshotReader) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
        return fn(reader(tx))
      })
    },
    /** Runs fn in one transaction: a throw anywhere leaves every table as it was. */
    write<T>(fn: (w: TableWriter) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(writer(tx)))
    }
  }
}
export type TableDataRepository = ReturnType<typeof createTableDataRepository>
