/**
 * Stage 7, record: the Prometheus request metrics (CONTRACT.md section 3 names), a rolling window
 * for the JSON summary at /api/v1/meta/metrics, and the access line of issue 2 item 7 (one per
 * request). Framework-free: the pipeline passes one finished request's facts.
 */
import type client from 'prom-client'
import { metricsIn } from '../prometheus.js'

/** One finished request, as the pipeline saw it. */
export interface FinishedRequest {
  method: string
  /** The route template, or 'unmatched'. */
  route: string
  /** The normalised URL; only its path part is logged (queries can carry tokens). */
  url: string
  status: number
  elapsedMs: number
  /** The envelope code when the gateway answered with an error. */
  errorCode?: string
  userId?: string
  ip: string
  traceId?: string
  spanId?: string
}

export interface MetricsSummary {
  requests_per_second: number
  response_time_p50: number
  response_time_p95: number
  response_time_p99: number
  error_rate: number
  active_connections: number
}

export interface RequestRecorder {
  record(r: FinishedRequest): void
  summary(activeConnections: number): MetricsSummary
}

const WINDOW_MS = 60_000
const MAX_SAMPLES = 20_000
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export function createRequestRecorder(registry: client.Registry): RequestRecorder {
  const labelNames = ['method', 'route', 'status'] as const
  const metric = metricsIn(registry)
  const requests = metric.counter('http_requests_total', 'HTTP requests by route template and status', labelNames)
  const duration = metric.histogram(
    'http_request_duration_seconds',
    'HTTP request duration by route template and status',
    labelNames,
    DURATION_BUCKETS
  )
  const errorsByCode = metric.counter(
    'http_errors_total',
    'Error responses by envelope code (LUCID_ERR_*) and status',
    ['code', 'status']
  )

  // Ring buffer of (time, seconds, error) for the JSON summary: O(1) per request, bounded.
  const ringT = new Float64Array(MAX_SAMPLES)
  const ringS = new Float64Array(MAX_SAMPLES)
  const ringE = new Uint8Array(MAX_SAMPLES)
  let ringNext = 0
  let ringSize = 0

  return {
    record(r) {
      const seconds = r.elapsedMs / 1000
      const status = String(r.status)
      // Plain label objects: prom-client 15's bound children (`labels(...)`) hash and validate the
      // labels on every call too, so binding them once saves nothing.
      const labels = { method: r.method, route: r.route, status }
      requests.inc(labels)
      if (r.errorCode !== undefined) errorsByCode.inc({ code: r.errorCode, status })
      duration.observe(labels, seconds)
      ringT[ringNext] = Date.now()
      ringS[ringNext] = seconds
      ringE[ringNext] = r.status >= 500 ? 1 : 0
      ringNext = (ringNext + 1) % MAX_SAMPLES
      if (ringSize < MAX_SAMPLES) ringSize++
    },
    summary(activeConnections) {
      const since = Date.now() - WINDOW_MS
      const recent: number[] = []
      let errors = 0
      for (let i = 0; i < ringSize; i++) {
        if (ringT[i] < since) continue
        recent.push(ringS[i] * 1000)
        errors += ringE[i]
      }
      const sorted = recent.sort((a, b) => a - b)
      const round = (n: number) => Math.round(n * 100) / 100
      return {
        requests_per_second: round(recent.length / (WINDOW_MS / 1000)),
        response_time_p50: round(percentile(sorted, 50)),
        response_time_p95: round(percentile(sorted, 95)),
        response_time_p99: round(percentile(sorted, 99)),
        error_rate: recent.length === 0 ? 0 : round(errors / recent.length),
        active_connections: activeConnections
      }
    }
  }
}

/**
 * The access line's fields. None can hold a credential: the path without its query, ids, numbers
 * (the pipeline logs it without the redaction pass for that reason; keep it so).
 */
export function accessLine(requestId: string, r: FinishedRequest): Record<string, unknown> {
  const q = r.url.indexOf('?')
  return {
    request_id: requestId,
    method: r.method,
    path: q === -1 ? r.url : r.url.slice(0, q),
    route: r.route,
    status: r.status,
    duration_ms: Math.round(r.elapsedMs * 100) / 100,
    user_id: r.userId,
    ip: r.ip,
    // The exported SERVER span's ids (issue 17); absent with tracing off.
    trace_id: r.traceId,
    span_id: r.spanId
  }
}
