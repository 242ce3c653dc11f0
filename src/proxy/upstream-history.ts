/**
 * What happened to each upstream lately, for the operator dashboard (issue 18): breaker
 * transitions, the last health checks per host and recent failures by kind. Bounded rings, per
 * process (breakers are per instance). Fed by the upstream client's events; no Fastify import.
 */
import type { BreakerState } from './circuit-breaker.js'

export interface BreakerTransition {
  at: string
  host: string
  from: BreakerState | null
  to: BreakerState
}

export interface HealthCheckRecord {
  at: string
  ok: boolean
  latency_ms: number
  error?: string
}

export interface FailureRecord {
  at: string
  /** unavailable | timeout | bad_response | http_NNN */
  kind: string
}

export interface UpstreamHistorySnapshot {
  transitions: BreakerTransition[]
  checks: Record<string, HealthCheckRecord[]>
  failures: { by_kind: Record<string, number>; recent: FailureRecord[] }
}

export interface UpstreamHistory {
  breakerChanged(upstream: string, host: string, to: BreakerState): void
  healthChecked(upstream: string, host: string, check: HealthCheckRecord): void
  failed(upstream: string, kind: string): void
  snapshot(upstream: string): UpstreamHistorySnapshot
}

export interface UpstreamHistoryOptions {
  /** Transitions kept per upstream (default 100). */
  transitions?: number
  /** Health checks kept per host (default 20). */
  checks?: number
  /** Failures kept per upstream (default 100). */
  failures?: number
  now?: () => number
}

interface PerUpstream {
  transitions: BreakerTransition[]
  checks: Map<string, HealthCheckRecord[]>
  failures: FailureRecord[]
  state: Map<string, BreakerState>
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item)
  if (list.length > max) list.splice(0, list.length - max)
}

export function createUpstreamHistory(opts: UpstreamHistoryOptions = {}): UpstreamHistory {
  const maxTransitions = opts.transitions ?? 100
  const maxChecks = opts.checks ?? 20
  const maxFailures = opts.failures ?? 100
  const now = opts.now ?? Date.now
  const byName = new Map<string, PerUpstream>()
  const of = (upstream: string): PerUpstream => {
    let u = byName.get(upstream)
    if (u === undefined) {
      u = { transitions: [], checks: new Map(), failures: [], state: new Map() }
      byName.set(upstream, u)
    }
    return u
  }
  const at = () => new Date(now()).toISOString()

  return {
    breakerChanged(upstream, host, to) {
      const u = of(upstream)
      const from = u.state.get(host) ?? null
      u.state.set(host, to)
      // The initial "closed" of each host is its starting point, not an event.
      if (from === null && to === 'closed') return
      push(u.transitions, { at: at(), host, from, to }, maxTransitions)
    },
    healthChecked(upstream, host, check) {
      const u = of(upstream)
      const list = u.checks.get(host) ?? []
      push(list, check, maxChecks)
      u.checks.set(host, list)
    },
    failed(upstream, kind) {
      push(of(upstream).failures, { at: at(), kind }, maxFailures)
    },
    snapshot(upstream) {
      const u = of(upstream)
      const byKind: Record<string, number> = {}
      for (const f of u.failures) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1
      return {
        transitions: [...u.transitions].reverse(),
        checks: Object.fromEntries([...u.checks].map(([h, list]) => [h, [...list].reverse()])),
        failures: { by_kind: byKind, recent: [...u.failures].reverse().slice(0, 20) }
      }
    }
  }
}
