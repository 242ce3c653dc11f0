/**
 * Shapes of the API answers the views read. The operator endpoints' types come from their TypeBox
 * schemas (type-only imports, erased by the bundler), so the page and the gateway cannot drift.
 */
import type { Static } from '@sinclair/typebox'
import type {
  BreakersSchema,
  ChainStatusSchema,
  LimitsSchema,
  TrafficSchema
} from '../../../../src/routes/operator/schema.js'

export type Traffic = Static<typeof TrafficSchema>
export type Breakers = Static<typeof BreakersSchema>
export type HealthCheck = Breakers['upstreams'][number]['hosts'][number]['checks'][number]
export type Limits = Static<typeof LimitsSchema>
export type ChainStatus = Static<typeof ChainStatusSchema>

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
