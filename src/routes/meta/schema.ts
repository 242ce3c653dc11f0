import { Type, type Static } from '@sinclair/typebox'

const Dependency = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy'), Type.Literal('degraded')]),
    latency_ms: Type.Union([Type.Number(), Type.Null()]),
    error: Type.Optional(Type.String())
  },
  { additionalProperties: true }
)

export const HealthReportSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  timestamp: Type.String({ format: 'date-time' }),
  service: Type.String(),
  version: Type.String({ description: 'the gateway build (package version), as in /api/v1/meta/info' }),
  api_version: Type.Literal('v1', {
    description: 'the API version, as in the error envelope and /api/v1/meta/version'
  }),
  uptime: Type.Integer({ description: 'seconds since start' }),
  response_time: Type.Number({ description: 'ms spent producing this report' }),
  storage: Type.Object({
    database: Type.Union([Type.Literal('embedded'), Type.Literal('postgresql')]),
    state: Type.Union([Type.Literal('standalone'), Type.Literal('redis')])
  }),
  dependencies: Type.Object(
    {
      database: Dependency,
      state_store: Dependency,
      rate_limiter: Type.Optional(Dependency),
      upstreams: Type.Record(Type.String(), Dependency)
    },
    { additionalProperties: Dependency }
  )
})

export const ServiceInfoSchema = Type.Object({
  service_name: Type.String(),
  version: Type.String(),
  build_date: Type.String({ format: 'date-time' }),
  environment: Type.String(),
  features: Type.Array(Type.String())
})

export const VersionInfoSchema = Type.Object({
  api_version: Type.Literal('v1'),
  gateway_version: Type.String(),
  supported_versions: Type.Array(Type.String()),
  deprecation_notice: Type.Union([Type.String(), Type.Null()])
})

export const MetricsSummarySchema = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  metrics: Type.Object({
    requests_per_second: Type.Number(),
    response_time_p50: Type.Number({ description: 'ms' }),
    response_time_p95: Type.Number({ description: 'ms' }),
    response_time_p99: Type.Number({ description: 'ms' }),
    error_rate: Type.Number({ description: 'share of 5xx responses, 0..1' }),
    active_connections: Type.Integer()
  })
})

export const LivenessSchema = Type.Object({
  status: Type.Literal('ok'),
  timestamp: Type.String({ format: 'date-time' })
})
export const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  database: Type.Object({ status: Type.String(), latency_ms: Type.Union([Type.Number(), Type.Null()]) })
})
export type HealthReportBody = Static<typeof HealthReportSchema>
