/**
 * Distributed tracing (issue 17): the `tracing` runtime as a decorator, the span counters and the
 * exporter's shutdown. The request's trace is the pipeline's trace stage (src/pipeline/trace.ts);
 * with tracing and Server-Timing off it registers no hook, and the rest of the code checks
 * `request.trace` once.
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import type { FastifyInstance } from 'fastify'
import type { Tracing, TracingStats } from '../tracing/provider.js'
import type { RequestTrace } from '../tracing/request.js'
import type { ServerTimingSettings } from '../tracing/settings.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The tracing runtime; undefined when no OTLP endpoint is configured. */
    tracing: Tracing | undefined
  }
  interface FastifyRequest {
    /** This request's span and stage timer; undefined with tracing and Server-Timing off. */
    trace?: RequestTrace
  }
}

export interface TracingPluginOptions {
  tracing: Tracing | undefined
  serverTiming: ServerTimingSettings
}

const NO_SPANS: TracingStats = { exported: 0, droppedQueueFull: 0, droppedExportFailed: 0 }

function registerMetrics(app: FastifyInstance, tracing: Tracing | undefined): void {
  const stats = () => tracing?.stats() ?? NO_SPANS
  // Always exported (zero with tracing off), so dashboards and alerts can rely on the names.
  new client.Counter({
    name: 'otel_spans_dropped_total',
    help: 'Spans that never reached the collector: queue_full (collector slow or hung) or export_failed',
    labelNames: ['reason'],
    registers: [app.metrics.registry],
    collect() {
      const s = stats()
      this.reset()
      this.inc({ reason: 'queue_full' }, s.droppedQueueFull)
      this.inc({ reason: 'export_failed' }, s.droppedExportFailed)
    }
  })
  new client.Counter({
    name: 'otel_spans_exported_total',
    help: 'Spans the collector accepted',
    registers: [app.metrics.registry],
    collect() {
      this.reset()
      this.inc(stats().exported)
    }
  })
}

async function tracingPlugin(app: FastifyInstance, opts: TracingPluginOptions): Promise<void> {
  const { tracing } = opts
  app.decorate('tracing', tracing)
  registerMetrics(app, tracing)
  app.addHook('onClose', async () => tracing?.shutdown())
  // The per-request part (start, Server-Timing, end) is the pipeline's trace stage
  // (src/pipeline/trace.ts), registered by src/pipeline/request-path.ts.
  if (tracing !== undefined || opts.serverTiming.mode !== 'off') app.decorateRequest('trace', undefined)
}

export default fp(tracingPlugin, { name: 'lucid-tracing', dependencies: ['lucid-metrics'] })
