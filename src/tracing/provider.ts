/**
 * The tracing runtime of one gateway instance (issue 17): a tracer provider of its own (never the
 * global one, so several apps in one process — tests — keep their exporters apart), the sampler
 * named by OTEL_TRACES_SAMPLER, W3C Trace Context propagation, and an OTLP/HTTP exporter (protobuf
 * or JSON bodies, OTEL_EXPORTER_OTLP_PROTOCOL) behind a bounded batch queue. A collector that is
 * down or hung costs requests nothing: spans wait in the queue (never a request), overflow and
 * failed exports are dropped and counted.
 * Framework-free: no Fastify import.
 */
import { randomFillSync, randomUUID } from 'node:crypto'
import { context, type Tracer } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor
} from '@opentelemetry/sdk-trace-base'
import {
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION
} from '@opentelemetry/semantic-conventions'
import type { TracingContextMode, TracingSettings } from './settings.js'

/** Span counts since start, for the Prometheus counters. */
export interface TracingStats {
  exported: number
  /** Refused because the export queue was full (a slow or hung collector). */
  droppedQueueFull: number
  /** Handed to the exporter but not accepted (collector down, timeout, 4xx/5xx). */
  droppedExportFailed: number
}

export interface Tracing {
  readonly tracer: Tracer
  /** TRACING_CONTEXT: with `explicit` no context manager is installed and stores are not traced. */
  readonly contextMode: TracingContextMode
  readonly propagator: W3CTraceContextPropagator
  stats(): TracingStats
  /** Flushes what is queued, waiting at most `timeoutMs`; never rejects. */
  shutdown(timeoutMs?: number): Promise<void>
}

export interface TracingOptions {
  version: string
  environment: string
  /** Export failures, at most one line a minute (the counters carry the totals). */
  warn(obj: object, msg: string): void
}

let contextManagerInstalled = false

/**
 * AsyncLocalStorage carries the active span through awaits, so the Db and state-store decorators
 * find their parent without every repository taking a context argument. Process-wide by nature;
 * installed only once a tracing-enabled app exists, so an untraced gateway never pays for it.
 */
function installContextManager(): void {
  if (contextManagerInstalled) return
  contextManagerInstalled = true
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
}

/**
 * Trace and span ids cut from a pool of CSPRNG bytes. Written here because the SDK's
 * RandomIdGenerator fills each id four bytes per Math.random() call (4 µs per proxied request in
 * the issue 17 profile); one randomFillSync per 4 KiB serves ~340 requests. An all-zero id is
 * invalid (W3C Trace Context) and drawn again.
 */
class PooledIdGenerator implements IdGenerator {
  private readonly pool = Buffer.allocUnsafe(4096)
  private offset = this.pool.length

  private hex(bytes: number): string {
    for (;;) {
      if (this.offset + bytes > this.pool.length) {
        randomFillSync(this.pool)
        this.offset = 0
      }
      const id = this.pool.toString('hex', this.offset, (this.offset += bytes))
      if (!/^0+$/.test(id)) return id
    }
  }

  generateTraceId(): string {
    return this.hex(16)
  }

  generateSpanId(): string {
    return this.hex(8)
  }
}

export function samplerFor(settings: Pick<TracingSettings, 'sampler' | 'samplerRatio'>): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio)
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler()
    case 'always_off':
      return new AlwaysOffSampler()
    case 'traceidratio':
      return ratio
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio })
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
  }
}

/** The OTLP exporter, counting what it delivers and what it loses. */
class CountingExporter implements SpanExporter {
  handed = 0
  private lastWarnAt = 0

  constructor(
    private readonly inner: SpanExporter,
    readonly counts: TracingStats,
    private readonly url: string,
    private readonly warn: TracingOptions['warn']
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.handed += spans.length
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.counts.exported += spans.length
      else {
        this.counts.droppedExportFailed += spans.length
        const now = Date.now()
        if (now - this.lastWarnAt >= 60_000) {
          this.lastWarnAt = now
          this.warn(
            { spans: spans.length, err: result.error?.message, url: this.url },
            'trace export failed; spans dropped (otel_spans_dropped_total)'
          )
        }
      }
      done(result)
    })
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }
}

/**
 * The batch processor behind an admission check with the SDK's own rule (queue length ≥ max →
 * drop), so every dropped span is counted here instead of vanishing inside the SDK. The queue
 * length is what was admitted minus what the exporter has been handed: the SDK hands a batch over
 * synchronously as it takes it off its queue.
 */
class AdmittingProcessor implements SpanProcessor {
  private admitted = 0

  constructor(
    private readonly batch: BatchSpanProcessor,
    private readonly exporter: CountingExporter,
    private readonly maxQueueSize: number
  ) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.admitted - this.exporter.handed >= this.maxQueueSize) {
      this.exporter.counts.droppedQueueFull++
      return
    }
    this.admitted++
    this.batch.onEnd(span)
  }

  forceFlush(): Promise<void> {
    return this.batch.forceFlush()
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown()
  }
}

/** The runtime, or undefined when no endpoint is configured: then nothing about tracing runs. */
export function createTracing(settings: TracingSettings, opts: TracingOptions): Tracing | undefined {
  if (settings.tracesUrl === undefined) return undefined
  if (settings.context === 'async') installContextManager()
  // Same transport and options; only the body encoding (and its content type) differs.
  const Exporter = settings.protocol === 'http/json' ? JsonTraceExporter : ProtobufTraceExporter
  const exporter = new Exporter({
    url: settings.tracesUrl,
    headers: settings.headers,
    timeoutMillis: settings.exportTimeoutMs
  })
  const counts: TracingStats = { exported: 0, droppedQueueFull: 0, droppedExportFailed: 0 }
  const counting = new CountingExporter(exporter, counts, settings.tracesUrl, opts.warn)
  const batch = new BatchSpanProcessor(counting, {
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: settings.maxExportBatchSize,
    scheduledDelayMillis: settings.scheduleDelayMs,
    exportTimeoutMillis: settings.exportTimeoutMs
  })
  const resource = defaultResource().merge(
    resourceFromAttributes({
      ...settings.resourceAttributes,
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: opts.version,
      [ATTR_SERVICE_INSTANCE_ID]: settings.resourceAttributes[ATTR_SERVICE_INSTANCE_ID] ?? randomUUID(),
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]:
        settings.resourceAttributes[ATTR_DEPLOYMENT_ENVIRONMENT_NAME] ?? opts.environment
    })
  )
  const provider = new BasicTracerProvider({
    resource,
    sampler: samplerFor(settings),
    idGenerator: new PooledIdGenerator(),
    spanProcessors: [new AdmittingProcessor(batch, counting, settings.maxQueueSize)]
  })
  const tracer = provider.getTracer('lucid-api-gateway', opts.version)
  let closing: Promise<void> | undefined
  return {
    tracer,
    contextMode: settings.context,
    propagator: new W3CTraceContextPropagator(),
    stats: () => ({ ...counts }),
    shutdown(timeoutMs = 5_000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        timer.unref()
        provider
          .shutdown()
          .then(resolve, resolve)
          .finally(() => clearTimeout(timer))
      })
      return closing
    }
  }
}
