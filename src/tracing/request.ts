/**
 * Per-request tracing as plain functions (start → stages → end), so the request pipeline can call
 * them as stages: one SERVER span per request with HTTP semantic conventions, child spans for the
 * gateway's own costly stages, and the stage timer behind `Server-Timing`. Framework-free.
 *
 * Only what a client cannot abuse goes on a span: the path without its query (tokens travel in
 * queries, e.g. WebSocket `access_token`), the user id the gateway verified, never a credential.
 *
 * Every attribute is paid for twice per request — copied into the span, then encoded character by
 * character at export (tracing-cost bench: export is most of a traced request's CPU) — so the
 * SERVER span carries what a trace is searched and read for (method, route, status, path, client,
 * user, request id, stage times), not the user agent, the scheme or the role.
 */
import type { IncomingHttpHeaders } from 'node:http'
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer
} from '@opentelemetry/api'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH
} from '@opentelemetry/semantic-conventions'
import type { Tracing } from './provider.js'
import { endLazySpan, withLazySpan, type LazySpan } from './spans.js'

/** Stages reported in Server-Timing, in this order, then `total`. */
export type Stage = 'auth' | 'limit' | 'upstream'
const STAGES: readonly Stage[] = ['auth', 'limit', 'upstream']
// The CLIENT spans of the upstream client already show the upstream stage, attempt by attempt.
const SPANNED: Record<Stage, boolean> = { auth: true, limit: true, upstream: false }
/**
 * A stage becomes a span when it costs time: it made a query or Redis call (the span then holds
 * those), took at least this long, or failed. A cached token check or an in-memory limiter
 * decision takes microseconds; a span for it would cost more than the stage (issue 17's budget).
 */
export const STAGE_SPAN_MIN_MS = 1
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])
// Attribute keys built once, not per request.
const STAGE_KEYS: Record<Stage, string> = {
  auth: 'lucid.stage.auth_ms',
  limit: 'lucid.stage.limit_ms',
  upstream: 'lucid.stage.upstream_ms'
}
export interface RequestTrace {
  /** The SERVER span; undefined when only Server-Timing is measured (tracing off). */
  readonly span: Span | undefined
  readonly tracer: Tracer | undefined
  /** Carries the span; the plugin makes it active for the rest of the request. */
  readonly context: Context
  /** Of the SERVER span, for the access log line; undefined when tracing is off. */
  readonly traceId: string | undefined
  readonly spanId: string | undefined
  /** The method, or HTTP for an unknown one; the route is appended at the end (semantic conventions). */
  readonly spanName: string
  /** `performance.now()` at the start, ms. */
  readonly startedAt: number
  /** Milliseconds spent per stage, summed when a stage runs more than once. */
  readonly stages: Partial<Record<Stage, number>>
  /** Server-Timing already granted at the start (header mode with the right secret). */
  timingGranted: boolean
  ended: boolean
}

export interface RequestInfo {
  method: string
  /** Path without the query. */
  path: string
  /** Not put on the span (see the header comment), like the user agent in `headers`. */
  scheme: string
  clientAddress: string
  requestId: string
  headers: IncomingHttpHeaders
}

export interface RequestOutcome {
  status: number
  /** Route template (`/api/v1/users/:id`); undefined when no route matched. */
  route?: string
  userId?: string
  /** Not put on the span (the user id names the user; see the header comment). */
  role?: string
  /** The envelope code of an error response. */
  errorCode?: string
  /** The client went away before the response was complete. */
  aborted?: boolean
}

/** The incoming W3C context; a malformed or absent `traceparent` gives the root (a new trace). */
export function incomingContext(tracing: Tracing, headers: IncomingHttpHeaders): Context {
  return tracing.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
}

export function startRequestTrace(tracing: Tracing | undefined, info: RequestInfo): RequestTrace {
  const startedAt = performance.now()
  if (tracing === undefined) {
    return {
      span: undefined,
      tracer: undefined,
      context: ROOT_CONTEXT,
      traceId: undefined,
      spanId: undefined,
      spanName: '',
      startedAt,
      stages: {},
      timingGranted: false,
      ended: false
    }
  }
  const known = KNOWN_METHODS.has(info.method)
  const spanName = known ? info.method : 'HTTP'
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: known ? info.method : '_OTHER',
    [ATTR_URL_PATH]: info.path,
    [ATTR_CLIENT_ADDRESS]: info.clientAddress,
    'lucid.request_id': info.requestId
  }
  if (!known) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = info.method.slice(0, 32)
  const parent = info.headers.traceparent === undefined ? ROOT_CONTEXT : incomingContext(tracing, info.headers)
  const span = tracing.tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes }, parent)
  const sc = span.spanContext()
  const ctx = trace.setSpan(ROOT_CONTEXT, span)
  return {
    span,
    tracer: tracing.tracer,
    context: ctx,
    traceId: sc.traceId,
    spanId: sc.spanId,
    spanName,
    startedAt,
    stages: {},
    timingGranted: false,
    ended: false
  }
}

/**
 * Runs one stage: times it for Server-Timing and, for auth and limit, wraps it in a child span
 * (the Db and state-store spans inside then hang below it). Without a trace it only calls `fn`.
 */
export function inStage<T>(rt: RequestTrace | undefined, stage: Stage, fn: () => Promise<T>): Promise<T> {
  return rt === undefined ? fn() : timedStage(rt, stage, fn)
}

async function timedStage<T>(rt: RequestTrace, stage: Stage, fn: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const tracer = rt.tracer
  if (!SPANNED[stage] || tracer === undefined || rt.span?.isRecording() !== true) {
    try {
      return await fn()
    } finally {
      rt.stages[stage] = (rt.stages[stage] ?? 0) + performance.now() - start
    }
  }
  const lazy: LazySpan = { tracer, name: stage, parent: rt.context, start }
  let failure: unknown
  try {
    return await context.with(withLazySpan(lazy), fn)
  } catch (err) {
    failure = err
    throw err
  } finally {
    rt.stages[stage] = (rt.stages[stage] ?? 0) + performance.now() - start
    endLazySpan(lazy, STAGE_SPAN_MIN_MS, failure)
  }
}

/** Ends the SERVER span once (a response and an abort may both report). */
export function endRequestTrace(rt: RequestTrace, outcome: RequestOutcome): void {
  const span = rt.span
  if (rt.ended || span === undefined) return
  rt.ended = true
  if (outcome.route !== undefined) {
    span.setAttribute(ATTR_HTTP_ROUTE, outcome.route)
    span.updateName(`${rt.spanName} ${outcome.route}`)
  }
  if (outcome.userId !== undefined) span.setAttribute('user.id', outcome.userId)
  if (outcome.errorCode !== undefined) span.setAttribute('lucid.error.code', outcome.errorCode)
  // Every stage's time, also of those too quick to be spans of their own.
  const stages = rt.stages
  if (stages.auth !== undefined) span.setAttribute(STAGE_KEYS.auth, Math.round(stages.auth * 1000) / 1000)
  if (stages.limit !== undefined) span.setAttribute(STAGE_KEYS.limit, Math.round(stages.limit * 1000) / 1000)
  if (stages.upstream !== undefined) span.setAttribute(STAGE_KEYS.upstream, Math.round(stages.upstream * 1000) / 1000)
  if (outcome.aborted === true) span.setAttribute('lucid.client_aborted', true)
  else {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, outcome.status)
    // Server spans: only 5xx is the server's error (HTTP semantic conventions).
    if (outcome.status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(outcome.status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }
  span.end()
}

/** `auth;dur=1.20, limit;dur=0.31, upstream;dur=12.50, total;dur=15.07` (ms; total up to the headers). */
export function serverTimingValue(rt: RequestTrace): string {
  let out = ''
  for (const s of STAGES) {
    const ms = rt.stages[s]
    if (ms !== undefined) out += `${s};dur=${ms.toFixed(2)}, `
  }
  return `${out}total;dur=${(performance.now() - rt.startedAt).toFixed(2)}`
}
