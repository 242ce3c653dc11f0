/**
 * Prometheus metrics (CONTRACT.md section 3 names) on a registry per app instance, the access log
 * line of issue 2 item 7, and a rolling window for the JSON summary at /api/v1/meta/metrics.
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { errorCodeOf } from './errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
  interface FastifyRequest {
    /** Set by the auth guard, logged with the access line. */
    userId?: string
  }
}

export interface Metrics {
  registry: client.Registry
  summary(): MetricsSummary
  jobRuns: client.Counter<'job' | 'result'>
  /** Requests refused by load shedding. */
  shed: client.Counter<'reason'>
}

export interface MetricsSummary {
  requests_per_second: number
  response_time_p50: number
  response_time_p95: number
  response_time_p99: number
  error_rate: number
  active_connections: number
}

const WINDOW_MS = 60_000
const MAX_SAMPLES = 20_000

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  const requests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests by route template and status', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  let connections = 0
  new client.Gauge({ name: 'http_active_connections', help: 'Open client connections', registers: [registry], collect() { this.set(connections) } })
  const shed = new client.Counter({ name: 'http_shed_total', help: 'Requests refused with a fast 503 by load shedding, by reason', labelNames: ['reason'], registers: [registry] })
  const errorsByCode = new client.Counter({ name: 'http_errors_total', help: 'Error responses by envelope code (LUCID_ERR_*) and status', labelNames: ['code', 'status'], registers: [registry] })
  const jobRuns = new client.Counter({ name: 'job_runs_total', help: 'Background job runs by result', labelNames: ['job', 'result'], registers: [registry] })

  app.addHook('onReady', async () => {
    app.server.on('connection', (socket) => {
      connections++
      socket.once('close', () => connections--)
    })
  })

  // Ring buffer of (time, seconds, error) for the JSON summary: O(1) per request, bounded.
  const ringT = new Float64Array(MAX_SAMPLES)
  const ringS = new Float64Array(MAX_SAMPLES)
  const ringE = new Uint8Array(MAX_SAMPLES)
  let ringNext = 0
  let ringSize = 0

  app.addHook('onResponse', async (request, reply) => {
    const seconds = reply.elapsedTime / 1000
    const route = request.routeOptions.url ?? 'unmatched'
    const labels = { method: request.method, route, status: String(reply.statusCode) }
    requests.inc(labels)
    const code = errorCodeOf(request)
    if (code !== undefined) errorsByCode.inc({ code, status: labels.status })
    duration.observe(labels, seconds)
    ringT[ringNext] = Date.now()
    ringS[ringNext] = seconds
    ringE[ringNext] = reply.statusCode >= 500 ? 1 : 0
    ringNext = (ringNext + 1) % MAX_SAMPLES
    if (ringSize < MAX_SAMPLES) ringSize++
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        route,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        user_id: request.userId,
        ip: request.ip,
        // The exported SERVER span's ids (issue 17); absent with tracing off.
        trace_id: request.trace?.traceId,
        span_id: request.trace?.spanId
      },
      'request completed'
    )
  })

  app.decorate('metrics', {
    registry,
    jobRuns,
    shed,
    summary(): MetricsSummary {
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
        active_connections: connections
      }
    }
  })
}

export default fp(metricsPlugin, { name: 'lucid-metrics' })
