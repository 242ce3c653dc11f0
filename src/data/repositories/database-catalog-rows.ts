/** What the database catalogue repository (database-catalog.ts) answers with. */
export interface CollectionRow {
  name: string
  schema: string
  read_only: boolean
  /** pg_class.reltuples, 0 when never analyzed. */
  estimated_rows: number
  size_bytes: number
  index_size_bytes: number
}

export interface ColumnRow {
  name: string
  type: string
  nullable: boolean
  default: string | null
}

export interface IndexRow {
  name: string
  definition: string
  unique: boolean
  primary: boolean
  valid: boolean
  size_bytes: number
  scans: number
  tuples_read: number
}

export interface TableActivity {
  /** `schema.table`. */
  name: string
  seq_scan: number
  idx_scan: number
  n_tup_ins: number
  n_tup_upd: number
  n_tup_del: number
  n_live_tup: number
  n_dead_tup: number
}

export interface DatabaseStatistics {
  size_bytes: number
  connections: { total: number; active: number }
  /** pg_stat_database counters of the current database; empty when the view has no row. */
  counters: Record<string, number>
  per_table: TableActivity[]
}

export interface SlowStatement {
  query_id: string | null
  query: string | null
  calls: number
  total_ms: number
  mean_ms: number
  max_ms: number
  rows: number
}

export interface Check {
  check: string
  ok: boolean
  detail: string
}
