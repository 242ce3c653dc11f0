/**
 * Dependency report for GET /api/v1/meta/health (CONTRACT.md section 3): the database decides
 * healthy/unhealthy; the state store and upstreams can only make it "degraded". Results are
 * cached briefly so a burst of probes does not become a burst of checks.
 */
import type { Db } from '../data/db.js'
import type { StateStore } from '../stores/state-store.js'

export type DependencyStatus = 'healthy' | 'unhealthy' | 'degraded'

export interface DependencyReport {
  status: DependencyStatus
  latency_ms: number | null
  error?: string
  [extra: string]: unknown
}

export interface HealthReport {
  status: DependencyStatus
  timestamp: string
  service: 'api-gateway'
  /** The gateway build (package version). */
  version: string
  /** The API version, as in every error envelope's `version` (issue 13: `v1` vs `0.1.0` puzzled people). */
  api_version: 'v1'
  uptime: number
  response_time: number
  storage: { database: 'embedded' | 'postgresql'; state: 'standalone' | 'redis' }
  dependencies: {
    database: DependencyReport
    state_store: DependencyReport
    upstreams: Record<string, DependencyReport>
    [name: string]: DependencyReport | Record<string, DependencyReport>
  }
}

/** A named extra check, e.g. one per upstream service, added by later plugins. */
export type UpstreamCheck = () => Promise<DependencyReport>

export interface HealthChecker {
  report(): Promise<HealthReport>
  addUpstream(name: string, check: UpstreamCheck): void
  /** Another top-level dependency (e.g. the rate limiter); not healthy → degraded. */
  addDependency(name: string, check: UpstreamCheck): void
}

const CHECK_TIMEOUT_MS = 2_000

async function timed(fn: () => Promise<unknown>): Promise<DependencyReport> {
  const start = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)
      })
    ])
    return { status: 'healthy', latency_ms: round(performance.now() - start) }
  } catch (err) {
    return { status: 'unhealthy', latency_ms: round(performance.now() - start), error: errorText(err) }
  } finally {
    clearTimeout(timer)
  }
}

const round = (n: number) => Math.round(n * 100) / 100

function errorText(err: unknown): string {
  // Only a short reason: never connection strings or stack traces.
  const e = err as { code?: string; message?: string; cause?: { code?: string } }
  return e.cause?.code ?? e.code ?? 'unreachable'
}

export function createHealthChecker(opts: {
  db: Db
  stateStore: StateStore
  version: string
  cacheMs: number
  startedAt?: number
}): HealthChecker {
  const upstreams = new Map<string, UpstreamCheck>()
  const extra = new Map<string, UpstreamCheck>()
  const startedAt = opts.startedAt ?? Date.now()
  let cached: { at: number; report: Promise<HealthReport> } | undefined

  async function compute(): Promise<HealthReport> {
    const start = performance.now()
    const [database, state] = await Promise.all([timed(() => opts.db.ping()), timed(() => opts.stateStore.ping())])
    const ups: Record<string, DependencyReport> = {}
    await Promise.all(
      [...upstreams].map(async ([name, check]) => {
        ups[name] = await check().catch((err) => ({
          status: 'unhealthy' as const,
          latency_ms: null,
          error: errorText(err)
        }))
      })
    )
    const others: Record<string, DependencyReport> = {}
    for (const [name, check] of extra)
      others[name] = await check().catch((err) => ({
        status: 'unhealthy' as const,
        latency_ms: null,
        error: errorText(err)
      }))
    let status: DependencyStatus = 'healthy'
    if (
      state.status !== 'healthy' ||
      [...Object.values(ups), ...Object.values(others)].some((u) => u.status !== 'healthy')
    )
      status = 'degraded'
    if (database.status !== 'healthy') status = 'unhealthy'
    return {
      status,
      timestamp: new Date().toISOString(),
      service: 'api-gateway',
      version: opts.version,
      api_version: 'v1',
      uptime: Math.floor((Date.now() - startedAt) / 1000),
      response_time: round(performance.now() - start),
      storage: { database: opts.db.kind, state: opts.stateStore.kind === 'redis' ? 'redis' : 'standalone' },
      dependencies: { database, state_store: state, ...others, upstreams: ups }
    }
  }

  return {
    report() {
      const now = Date.now()
      if (cached === undefined || now - cached.at >= opts.cacheMs) {
        cached = { at: now, report: compute() }
      }
      return cached.report
    },
    addUpstream(name, check) {
      upstreams.set(name, check)
    },
    addDependency(name, check) {
      extra.set(name, check)
    }
  }
}
