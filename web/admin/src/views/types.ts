/** Shapes of the API answers the views read (see /openapi.json for the full schemas). */
export interface Dependency {
  status: string
  latency_ms: number | null
  error?: string
  [k: string]: unknown
}

export interface Health {
  status: string
  storage: { database: string; state: string }
  dependencies: {
    database: Dependency
    state_store: Dependency
    rate_limiter?: Dependency
    upstreams: Record<string, Dependency>
  }
}

export interface Traffic {
  instance_id: string
  window_s: number
  points: {
    t: number
    requests_per_second: number
    errors_per_second: number
    p50_ms: number
    p95_ms: number
    p99_ms: number
  }[]
  totals: {
    requests: number
    requests_per_second: number
    server_errors: number
    client_errors: number
    p50_ms: number
    p95_ms: number
    p99_ms: number
  }
  errors_by_code: { code: string; count: number }[]
  routes: { route: string; requests: number; errors: number; avg_ms: number; max_ms: number }[]
  upstreams: { upstream: string; requests: number; outcomes: Record<string, number> }[]
}

export interface HealthCheck {
  at: string
  ok: boolean
  latency_ms: number
  error?: string
}

export interface Breakers {
  instance_id: string
  breaker: {
    failure_threshold: number
    success_threshold: number
    open_ms: number
    half_open_max_probes: number
    health_interval_ms: number
  }
  upstreams: {
    name: string
    prefixes: string[]
    timeout_ms: number
    connect_timeout_ms: number
    hosts: {
      host: string
      state: string
      requests: number
      failures: number
      last_check: HealthCheck | null
      checks: HealthCheck[]
    }[]
    retry_budget: {
      ratio: number
      window_s: number
      min_retries: number
      requests: number
      retries: number
      available: number
    }
    transitions: { at: string; host: string; from: string | null; to: string }[]
    failures: { by_kind: Record<string, number>; recent: { at: string; kind: string }[] }
  }[]
}

export interface Limits {
  scope: string
  enabled: boolean
  mode: string
  failure_mode: string
  instances: number
  rules: {
    name: string
    kind: string
    pattern: string | null
    methods: string[] | null
    key: string
    limit: number
    period_s: number
    burst: number
  }[]
  identities: {
    identity: string
    usage: number
    rules: { rule: string; tat_ahead_ms: number; usage: number }[]
    refused_recent: number
  }[]
}

export interface UserRow {
  user_id: string
  email: string | null
  tron_address: string | null
  username: string | null
  role: string
  status: string
  totp_enabled: boolean
  created_at: string
  last_login: string | null
}

export interface Page {
  page: number
  limit: number
  total: number
  pages: number
}

export interface AuditEntry {
  audit_id: number
  occurred_at: string
  actor_id: string | null
  actor_role: string | null
  action: string
  target_type: string | null
  target_id: string | null
  outcome: string
  ip: string | null
  details: Record<string, unknown>
  hash: string
}
