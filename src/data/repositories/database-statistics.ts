/**
 * What the database admin API reports about the server and a table, without changing anything
 * (issue 7): pg_stat counters, the slowest statements (pg_stat_statements, when installed) and a
 * table's integrity checks. Part of the database catalogue repository (database-catalog.ts).
 */
import type { Queryable } from '../db.js'
import { quoteIdent, quoteTable as qualified } from '../identifiers.js'
import type { Check, DatabaseStatistics, SlowStatement, TableActivity } from './database-catalog-rows.js'

export function createDatabaseStatistics(db: Queryable) {
  return {
    async statistics(): Promise<DatabaseStatistics> {
      const [counters, conns, size, ops] = await Promise.all([
        db.query<Record<string, number>>(
          'SELECT xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, deadlocks FROM pg_stat_database WHERE datname = current_database()'
        ),
        db.query<{ total: number; active: number }>(
          "SELECT count(*)::int AS total, count(*) FILTER (WHERE state = 'active')::int AS active FROM pg_stat_activity WHERE datname = current_database()"
        ),
        db.query<{ size: number }>('SELECT pg_database_size(current_database()) AS size'),
        db.query<TableActivity>(
          "SELECT schemaname || '.' || relname AS name, seq_scan, COALESCE(idx_scan, 0) AS idx_scan, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup FROM pg_stat_user_tables ORDER BY relname"
        )
      ])
      return {
        size_bytes: Number(size.rows[0].size),
        connections: { total: Number(conns.rows[0]?.total ?? 0), active: Number(conns.rows[0]?.active ?? 0) },
        counters: Object.fromEntries(Object.entries(counters.rows[0] ?? {}).map(([k, v]) => [k, Number(v)])),
        per_table: ops.rows.map(
          (r) =>
            Object.fromEntries(
              Object.entries(r).map(([k, v]) => [k, k === 'name' ? v : Number(v)])
            ) as unknown as TableActivity
        )
      }
    },

    /** Slowest statements by mean time, or null when pg_stat_statements is not installed. */
    async slowStatements(limit: number): Promise<SlowStatement[] | null> {
      const ext = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
      if (ext.rows.length === 0) return null
      const { rows } = await db.query<SlowStatement>(
        `SELECT queryid::text AS query_id, left(query, 500) AS query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, max_exec_time AS max_ms, rows
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY mean_exec_time DESC LIMIT $1`,
        [limit]
      )
      return rows
    },

    /** Constraints validated, indexes valid and ready, every row readable with no null in a NOT NULL column. */
    async validate(schema: string, table: string): Promise<Check[]> {
      const rel = qualified(schema, table)
      const checks: Check[] = []
      const cons = await db.query<{ name: string; validated: boolean }>(
        'SELECT conname AS name, convalidated AS validated FROM pg_constraint WHERE conrelid = $1::regclass',
        [rel]
      )
      for (const c of cons.rows)
        checks.push({
          check: `constraint ${c.name}`,
          ok: c.validated,
          detail: c.validated ? 'validated' : 'NOT VALID: existing rows were never checked'
        })
      const idx = await db.query<{ name: string; valid: boolean; ready: boolean }>(
        'SELECT c.relname AS name, i.indisvalid AS valid, i.indisready AS ready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass',
        [rel]
      )
      for (const i of idx.rows)
        checks.push({
          check: `index ${i.name}`,
          ok: i.valid && i.ready,
          detail: i.valid && i.ready ? 'valid' : 'invalid (a failed concurrent build?): drop and recreate, or reindex'
        })
      const notNull = await db.query<{ col: string }>(
        "SELECT column_name AS col FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_nullable = 'NO'",
        [schema, table]
      )
      const nullChecks =
        notNull.rows.map((c) => `count(*) FILTER (WHERE ${quoteIdent(c.col)} IS NULL)`).join(' + ') || '0'
      const scan = await db.query<{ n: number; nulls: number }>(
        `SELECT count(*)::bigint AS n, (${nullChecks})::bigint AS nulls FROM ${rel}`
      )
      checks.push({
        check: 'rows',
        ok: Number(scan.rows[0].nulls) === 0,
        detail: `${Number(scan.rows[0].n)} rows read, ${Number(scan.rows[0].nulls)} nulls in NOT NULL columns`
      })
      return checks
    }
  }
}
