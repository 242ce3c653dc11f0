/** Response schemas of the operator endpoints under /api/v1/meta (issue 18). */
import { Type } from '@sinclair/typebox'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const Iso = Type.String({ format: 'date-time' })
const Scope = Type.Union([Type.Literal('instance'), Type.Literal('cluster')], {
  description: 'instance: this gateway process only; cluster: shared by every instance'
})
const BreakerState = Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')])

export const TrafficQuerySchema = Type.Object(
  { window_s: Type.Integer({ minimum: 10, maximum: 900, default: 300, description: 'seconds of history' }) },
  { additionalProperties: false }
)

export const TrafficSchema = Type.Object({
  scope: Scope,
  instance_id: Type.String(),
  generated_at: Iso,
  bucket_s: Type.Number(),
  window_s: Type.Number(),
  points: Type.Array(
    Type.Object({
      t: Type.Integer({ description: 'bucket start, ms since epoch' }),
      requests_per_second: Type.Number(),
      errors_per_second: Type.Number({ description: '5xx responses per second' }),
      p50_ms: Type.Number(),
      p95_ms: Type.Number(),
      p99_ms: Type.Number()
    })
  ),
  totals: Type.Object({
    requests: Type.Integer(),
    requests_per_second: Type.Number(),
    server_errors: Type.Integer(),
    client_errors: Type.Integer(),
    p50_ms: Type.Number(),
    p95_ms: Type.Number(),
    p99_ms: Type.Number()
  }),
  errors_by_code: Type.Array(Type.Object({ code: Type.String(), count: Type.Integer() })),
  routes: Type.Array(
    Type.Object({
      route: Type.String(),
      requests: Type.Integer(),
      errors: Type.Integer(),
      avg_ms: Type.Number(),
      max_ms: Type.Number()
    })
  ),
  upstreams: Type.Array(
    Type.Object({
      upstream: Type.String(),
      requests: Type.Integer(),
      outcomes: Type.Record(Type.String(), Type.Integer())
    })
  ),
  limited: Type.Array(Type.Object({ identity: Type.String(), refused: Type.Integer() }))
})

const HealthCheck = Type.Object({
  at: Iso,
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String())
})

export const BreakersSchema = Type.Object({
  scope: Scope,
  instance_id: Type.String(),
  breaker: Type.Object({
    failure_threshold: Type.Integer(),
    success_threshold: Type.Integer(),
    open_ms: Type.Integer(),
    half_open_max_probes: Type.Integer(),
    health_interval_ms: Type.Integer()
  }),
  upstreams: Type.Array(
    Type.Object({
      name: Type.String(),
      prefixes: Type.Array(Type.String()),
      timeout_ms: Type.Integer(),
      connect_timeout_ms: Type.Integer(),
      hosts: Type.Array(
        Type.Object({
          host: Type.String(),
          state: BreakerState,
          requests: Type.Integer(),
          failures: Type.Integer(),
          last_check: Nullable(HealthCheck),
          checks: Type.Array(HealthCheck, { description: 'newest first' })
        })
      ),
      retry_budget: Type.Object({
        ratio: Type.Number(),
        window_s: Type.Integer(),
        min_retries: Type.Integer(),
        requests: Type.Integer(),
        retries: Type.Integer(),
        available: Type.Integer()
      }),
      transitions: Type.Array(
        Type.Object({ at: Iso, host: Type.String(), from: Nullable(BreakerState), to: BreakerState }),
        { description: 'breaker history, newest first' }
      ),
      failures: Type.Object({
        by_kind: Type.Record(Type.String(), Type.Integer()),
        recent: Type.Array(Type.Object({ at: Iso, kind: Type.String() }))
      })
    })
  )
})

export const LimitsQuerySchema = Type.Object(
  {
    top: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    scan: Type.Integer({ minimum: 0, maximum: 200, default: 40, description: 'identities with state to inspect' })
  },
  { additionalProperties: false }
)

export const LimitsSchema = Type.Object({
  scope: Scope,
  enabled: Type.Boolean(),
  mode: Type.String({ description: 'redis, memory or degraded' }),
  failure_mode: Type.String(),
  instances: Type.Integer({ description: 'live gateway instances seen by the limiter' }),
  rules: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.Union([Type.Literal('tier'), Type.Literal('rule')]),
      pattern: Nullable(Type.String()),
      methods: Nullable(Type.Array(Type.String())),
      key: Type.Union([Type.Literal('ip'), Type.Literal('user')]),
      limit: Type.Integer(),
      period_s: Type.Number(),
      burst: Type.Integer()
    })
  ),
  identities: Type.Array(
    Type.Object({
      identity: Type.String(),
      usage: Type.Number({ description: 'share of the fullest bucket in use, 0..1' }),
      rules: Type.Array(Type.Object({ rule: Type.String(), tat_ahead_ms: Type.Number(), usage: Type.Number() })),
      refused_recent: Type.Integer({ description: '429s from this instance within the last 5 minutes' })
    })
  )
})

export const ConfigSchema = Type.Object({
  generated_at: Iso,
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'effective settings, secrets masked as ***' })
})

export const ChainStatusSchema = Type.Object({
  local_height: Nullable(Type.Integer()),
  remote_height: Nullable(Type.Integer()),
  lag_blocks: Nullable(Type.Integer()),
  remote_error: Nullable(Type.String()),
  last_synced_at: Nullable(Iso),
  sync_interval_ms: Type.Integer(),
  anchors: Type.Object({
    pending: Type.Integer(),
    unsubmitted: Type.Integer({ description: 'pending with no transaction on lucid_blocks yet' }),
    oldest_requested_at: Nullable(Iso),
    last_error: Nullable(Type.String())
  })
})

export const JobsSchema = Type.Object({
  defined: Type.Array(Type.String()),
  jobs: Type.Array(
    Type.Object({
      name: Type.String(),
      running: Type.Boolean(),
      last_started_at: Nullable(Iso),
      last_finished_at: Nullable(Iso),
      last_error: Nullable(Type.String()),
      run_count: Type.Integer(),
      failure_count: Type.Integer()
    })
  )
})
