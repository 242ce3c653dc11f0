/**
 * Distributed tracing and Server-Timing on the request path (issue 17), a thin shell around
 * src/tracing: start the request's trace first of all hooks, make its context active for every
 * later hook and handler, end it when the response is done. With tracing and Server-Timing off no
 * hook is registered at all; the rest of the code checks `request.trace` once.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import client from 'prom-client'
import { context } from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Tracing, TracingStats } from '../tracing/provider.js'
import { endRequestTrace, serverTimingValue, startRequestTrace, type RequestTrace } from '../tracing/request.js'
import type { ServerTimingSettings } from '../tracing/settings.js'
import { errorCodeOf } from './errors.js'
import { roleAtLeast } from './auth.js'

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
const sha256 = (s: string) => createHash('sha256').update(s).digest()

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
  const { tracing, serverTiming } = opts
  app.decorate('tracing', tracing)
  registerMetrics(app, tracing)
  app.addHook('onClose', async () => tracing?.shutdown())
  if (tracing === undefined && serverTiming.mode === 'off') return

  const header = serverTiming.header
  const secret = serverTiming.secret === undefined ? undefined : sha256(serverTiming.secret)
  // The header is a credential: checked in constant time, then removed so no upstream sees it.
  const granted = (request: FastifyRequest): boolean => {
    const v = request.headers[header]
    if (v === undefined) return false
    delete request.raw.headers[header]
    return typeof v === 'string' && secret !== undefined && timingSafeEqual(sha256(v), secret)
  }

  app.decorateRequest('trace', undefined)
  app.addHook('onRequest', (request, reply, done) => {
    // Probes and Prometheus scrapes (the routes exempt from limits) would bury real traffic.
    if (request.routeOptions.config?.rateLimit === false) return done()
    const byHeader = serverTiming.mode === 'header' && granted(request)
    // Tracing off and nothing asked for: this request is not timed at all.
    if (tracing === undefined && serverTiming.mode === 'header' && !byHeader) return done()
    const url = request.url
    const q = url.indexOf('?')
    const rt = startRequestTrace(tracing, {
      method: request.method,
      path: q < 0 ? url : url.slice(0, q),
      scheme: request.protocol,
      clientAddress: request.ip,
      requestId: request.id,
      headers: request.headers
    })
    rt.timingGranted = byHeader
    request.trace = rt
    if (rt.span === undefined) return done()
    // 'close' follows 'finish', and comes alone when the client went away first.
    reply.raw.once('close', () => {
      endRequestTrace(rt, {
        status: reply.statusCode,
        route: request.routeOptions.url,
        userId: request.user?.id,
        role: request.user?.role,
        errorCode: errorCodeOf(request),
        aborted: !reply.raw.writableFinished
      })
    })
    // Listeners Fastify adds later (body parsing) run in the request's context, as do the
    // remaining hooks and the handler, started from inside context.with. Bodiless requests (most
    // of them) have no such listeners to bind.
    const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
    if (length !== undefined || chunked !== undefined) context.bind(rt.context, request.raw)
    context.with(rt.context, done)
  })

  if (serverTiming.mode === 'off') return
  app.addHook('onSend', (request, reply, payload, done) => {
    const rt = request.trace
    const admin = serverTiming.mode === 'admin' && request.user !== undefined && roleAtLeast(request.user.role, 'admin')
    if (rt !== undefined && (rt.timingGranted || admin)) reply.header('server-timing', serverTimingValue(rt))
    done(null, payload)
  })
}

export default fp(tracingPlugin, { name: 'lucid-tracing', dependencies: ['lucid-metrics'] })
