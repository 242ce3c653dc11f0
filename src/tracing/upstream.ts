/**
 * One CLIENT span per upstream attempt (issue 17), so retries and failover show as separate
 * attempts, and the attempt's own context sent upstream as `traceparent`/`tracestate`. Whatever
 * the client sent in those headers is replaced, never forwarded verbatim: the upstream's parent
 * is the gateway's attempt, and a client cannot graft the upstream's spans onto a trace of its
 * choosing. (With tracing off the gateway is a plain proxy and passes the client's headers on.)
 * Framework-free.
 */
import type { Readable } from 'node:stream'
import {
  context,
  defaultTextMapSetter,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span
} from '@opentelemetry/api'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT
} from '@opentelemetry/semantic-conventions'
import type { Tracing } from './provider.js'

export type Headers = Record<string, string | string[]>

export interface AttemptInfo {
  /** Service name from the route table, e.g. lucid_blocks. */
  upstream: string
  /** `http://host:port` of the chosen host. */
  origin: string
  method: string
  /** Path and query (not put on the span). */
  path: string
  /** 1 for the first try. */
  attempt: number
  /** The host's breaker state when the attempt was admitted (closed, half_open, open). */
  breaker: string
}

export interface AttemptSpan {
  /** The caller's headers object, now carrying this attempt's `traceparent` (and `tracestate`). */
  readonly headers: Headers
  /** The upstream answered; the span ends once the body has been read or discarded. */
  responded(statusCode: number, body?: Readable): void
  /** No usable answer: `unavailable`, `timeout`, `bad_response`, `cancelled`, `upgrade_refused`. */
  failed(outcome: string): void
}

/**
 * Replaces any trace context in `headers` (lower-case names, as every caller builds them) with
 * that of `ctx`'s span, in place: each attempt of a request overwrites the previous attempt's.
 */
export function injectTraceContext(tracing: Tracing, ctx: Context, headers: Headers): Headers {
  delete headers.traceparent
  delete headers.tracestate
  tracing.propagator.inject(ctx, headers, defaultTextMapSetter)
  return headers
}

// server.address/port per upstream origin, parsed once (a URL parse per attempt shows in profiles).
const servers = new Map<string, { address: string; port: number }>()
function serverOf(origin: string): { address: string; port: number } {
  let s = servers.get(origin)
  if (s === undefined) {
    const u = new URL(origin)
    s = { address: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) }
    if (servers.size < 1_000) servers.set(origin, s)
  }
  return s
}

/**
 * One attempt's span: a class rather than closures, so an attempt costs one object; the body's
 * end is watched with a single 'close' listener that reads `body.errored` (Node sets it before
 * 'close'), not an 'error' and a 'close' listener each.
 */
class Attempt implements AttemptSpan {
  private done = false
  private statusCode = 0
  private body: Readable | undefined

  constructor(
    private readonly span: Span,
    readonly headers: Headers
  ) {}

  responded(statusCode: number, body?: Readable): void {
    if (this.done) return
    this.statusCode = statusCode
    if (body === undefined || body.closed) return this.end(statusCode >= 500 ? `http_${statusCode}` : 'success')
    this.body = body
    body.once('close', this.onClose)
  }

  failed(outcome: string): void {
    if (!this.done) this.end(outcome)
  }

  // An arrow property: the listener is bound to this attempt without a closure per call site.
  private readonly onClose = (): void => {
    if (this.done) return
    const err = this.body?.errored as { code?: string } | null | undefined
    const status = this.statusCode
    if (err !== null && err !== undefined) this.end(err.code === 'UND_ERR_ABORTED' ? 'cancelled' : 'bad_response')
    else this.end(status >= 500 ? `http_${status}` : 'success')
  }

  private end(outcome: string): void {
    this.done = true
    const span = this.span
    const statusCode = this.statusCode === 0 ? undefined : this.statusCode
    span.setAttribute('lucid.upstream.outcome', outcome)
    if (statusCode !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode)
    if (outcome !== 'success') {
      span.setAttribute(ATTR_ERROR_TYPE, statusCode !== undefined ? String(statusCode) : outcome)
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome })
    }
    span.end()
  }
}

/**
 * Starts the attempt's span as a child of `parent` (default: the active context). Its attributes
 * are what an attempt is read for — which upstream and host, which try, the breaker's state, the
 * outcome — with no string built per attempt: `url.full` (origin + path) is left off, the SERVER
 * span has the path and this span the host.
 */
export function startAttempt(
  tracing: Tracing,
  info: AttemptInfo,
  headers: Headers,
  parent: Context = context.active()
): AttemptSpan {
  const server = serverOf(info.origin)
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: info.method,
    [ATTR_SERVER_ADDRESS]: server.address,
    [ATTR_SERVER_PORT]: server.port,
    'lucid.upstream.name': info.upstream,
    'lucid.upstream.attempt': info.attempt,
    'lucid.circuit_breaker.state': info.breaker
  }
  if (info.attempt > 1) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = info.attempt - 1
  const span = tracing.tracer.startSpan(info.method, { kind: SpanKind.CLIENT, attributes }, parent)
  return new Attempt(span, injectTraceContext(tracing, trace.setSpan(parent, span), headers))
}
