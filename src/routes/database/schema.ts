/** Database admin API request and response schemas. */
import { Type, type TSchema } from '@sinclair/typebox'
import { COLUMN_TYPES, IDENT } from '../../data/ddl.js'
import { StoreStatsSchema } from '../shared/schema.js'

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const ColumnSchema = Type.Object(
  {
    name: Type.String({ pattern: IDENT }),
    type: Type.Union(COLUMN_TYPES.map((t) => Type.Literal(t))),
    nullable: Type.Boolean({ default: true }),
    unique: Type.Boolean({ default: false }),
    primary_key: Type.Boolean({ default: false }),
    default: Type.Optional(
      Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean(), Type.Null()], {
        description: 'a literal; "now()" for timestamptz, "gen_random_uuid()" for uuid'
      })
    )
  },
  { additionalProperties: false }
)

export const NameParams = Type.Object({ name: Type.String({ pattern: IDENT }) })
export const IndexParams = Type.Object({
  name: Type.String({ pattern: IDENT }),
  index_name: Type.String({ pattern: IDENT })
})
export { ConfirmQuerySchema as Confirm } from '../shared/schema.js'

export const CreateCollectionBody = Type.Object(
  {
    name: Type.String({ pattern: IDENT }),
    columns: Type.Optional(Type.Array(ColumnSchema, { minItems: 1, maxItems: 100 }))
  },
  { additionalProperties: false }
)
export const RenameCollectionBody = Type.Object(
  { new_name: Type.String({ pattern: IDENT }) },
  { additionalProperties: false }
)
export const CreateIndexBody = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: IDENT })),
    columns: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: IDENT }),
          order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' })
        },
        { additionalProperties: false }
      ),
      { minItems: 1, maxItems: 8 }
    ),
    unique: Type.Boolean({ default: false }),
    // Partial indexes only in forms that cannot carry SQL: IS NOT NULL, or equality with a bound-free literal.
    where: Type.Optional(
      Type.Object(
        {
          column: Type.String({ pattern: IDENT }),
          op: Type.Union([Type.Literal('is_not_null'), Type.Literal('is_null'), Type.Literal('eq')]),
          value: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]))
        },
        { additionalProperties: false }
      )
    )
  },
  { additionalProperties: false }
)

export const CollectionSchema = Type.Object({
  name: Type.String(),
  schema: Type.String(),
  read_only: Type.Boolean(),
  estimated_rows: Type.Integer(),
  size_bytes: Type.Integer(),
  index_size_bytes: Type.Integer(),
  columns: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        type: Type.String(),
        nullable: Type.Boolean(),
        default: nullable(Type.String())
      })
    )
  )
})
export const IndexSchema = Type.Object({
  name: Type.String(),
  definition: Type.String(),
  unique: Type.Boolean(),
  primary: Type.Boolean(),
  valid: Type.Boolean(),
  size_bytes: Type.Integer(),
  scans: Type.Integer(),
  tuples_read: Type.Integer()
})
export const CountSchema = Type.Object({ name: Type.String(), count: Type.Integer() })
export const ValidationSchema = Type.Object({
  name: Type.String(),
  valid: Type.Boolean(),
  checks: Type.Array(Type.Object({ check: Type.String(), ok: Type.Boolean(), detail: Type.String() }))
})
export const ReindexSchema = Type.Object({ name: Type.String(), indexes: Type.Integer() })
export const RecommendedSchema = Type.Object({
  created: Type.Array(Type.String()),
  existing: Type.Array(Type.String())
})

const checkedAt = Type.String({ format: 'date-time' })
const healthy = Type.Literal('healthy')
const unhealthy = Type.Literal('unhealthy')
// Each component is healthy or unhealthy with its own fields; one variant per state keeps the
// properties in the order the handler writes them (the serializer puts optional ones last).
const DatabaseHealth = Type.Union([
  Type.Object({
    status: healthy,
    kind: Type.String(),
    version: Type.String(),
    latency_ms: Type.Number(),
    last_check: checkedAt
  }),
  Type.Object({
    status: unhealthy,
    kind: Type.String(),
    version: Type.Null(),
    error: Type.String(),
    latency_ms: Type.Null(),
    last_check: checkedAt
  })
])
const CacheHealth = Type.Union([
  Type.Object({
    status: healthy,
    kind: Type.String(),
    version: nullable(Type.String()),
    latency_ms: Type.Number(),
    last_check: checkedAt
  }),
  Type.Object({
    status: unhealthy,
    kind: Type.String(),
    error: Type.String(),
    latency_ms: Type.Null(),
    last_check: checkedAt
  })
])
// Search runs on the database: without it there is nothing to report but the engine's name.
const SearchHealth = Type.Union([
  Type.Object({
    status: healthy,
    engine: Type.Literal('postgresql-fts'),
    version: Type.String(),
    suggestions: Type.Union([Type.Literal('pg_trgm'), Type.Literal('prefix')]),
    latency_ms: Type.Number(),
    last_check: checkedAt
  }),
  Type.Object({ status: unhealthy, engine: Type.Literal('postgresql-fts'), last_check: checkedAt })
])
/** 200 when the database answers (degraded without the cache), 503 when it does not. */
export const HealthSchema = Type.Object({
  status: Type.Union([healthy, Type.Literal('degraded'), unhealthy]),
  database: DatabaseHealth,
  cache: CacheHealth,
  search: SearchHealth
})

const counter = Type.Optional(Type.Integer())
export const StatsSchema = Type.Object({
  database: Type.Object({
    kind: Type.String(),
    size_bytes: Type.Integer(),
    tables: Type.Integer(),
    rows_estimated: Type.Integer(),
    data_size_bytes: Type.Integer(),
    index_size_bytes: Type.Integer(),
    connections: Type.Object({ total: Type.Integer(), active: Type.Integer() }),
    // pg_stat_database of the current database; all absent when the view has no row for it.
    counters: Type.Object({
      xact_commit: counter,
      xact_rollback: counter,
      blks_read: counter,
      blks_hit: counter,
      tup_returned: counter,
      tup_fetched: counter,
      tup_inserted: counter,
      tup_updated: counter,
      tup_deleted: counter,
      deadlocks: counter
    }),
    buffer_hit_rate: nullable(Type.Number()),
    per_table: Type.Array(
      Type.Object({
        name: Type.String(),
        seq_scan: Type.Integer(),
        idx_scan: Type.Integer(),
        n_tup_ins: Type.Integer(),
        n_tup_upd: Type.Integer(),
        n_tup_del: Type.Integer(),
        n_live_tup: Type.Integer(),
        n_dead_tup: Type.Integer()
      })
    )
  }),
  cache: StoreStatsSchema
})

export const PerformanceQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) },
  { additionalProperties: false }
)
export const PerformanceSchema = Type.Object({
  available: Type.Boolean(),
  statements: Type.Array(
    Type.Object({
      query_id: nullable(Type.String()),
      query: nullable(Type.String()),
      calls: Type.Integer(),
      total_ms: Type.Number(),
      mean_ms: Type.Number(),
      max_ms: Type.Number(),
      rows: Type.Integer()
    })
  ),
  note: Type.Optional(Type.String({ description: 'how to install pg_stat_statements, when it is not' }))
})
