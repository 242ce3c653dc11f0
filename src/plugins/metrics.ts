/**
 * The Prometheus registry (one per app instance) and the gateway-wide metrics. The per-request
 * recording (request metrics, the JSON summary's window, the access line) is the pipeline's
 * record stage (src/pipeline/record.ts), called from src/pipeline/request-path.ts.
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import { metricsIn } from '../prometheus.js'
import type { FastifyInstance } from 'fastify'
import { createRequestRecorder, type MetricsSummary, type RequestRecorder } from '../pipeline/record.js'

export type { MetricsSummary } from '../pipeline/record.js'

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
  /** The request metrics and summary window the pipeline's record stage feeds. */
  requests: RequestRecorder
  jobRuns: client.Counter<'job' | 'result'>
  /** Requests refused by load shedding. */
  shed: client.Counter<'reason'>
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  const requests = createRequestRecorder(registry)
  let connections = 0
  new client.Gauge({
    name: 'http_active_connections',
    help: 'Open client connections',
    registers: [registry],
    collect() {
      this.set(connections)
    }
  })
  const metric = metricsIn(registry)
  const shed = metric.counter('http_shed_total', 'Requests refused with a fast 503 by load shedding, by reason', [
    'reason'
  ])
  const jobRuns = metric.counter('job_runs_total', 'Background job runs by result', ['job', 'result'])

  app.addHook('onReady', async () => {
    app.server.on('connection', (socket) => {
      connections++
      socket.once('close', () => connections--)
    })
  })

  app.decorate('metrics', {
    registry,
    requests,
    jobRuns,
    shed,
    summary: () => requests.summary(connections)
  })
}

export default fp(metricsPlugin, { name: 'lucid-metrics' })
