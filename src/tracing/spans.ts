/**
 * Small span helpers shared by the request, job and store tracing. Error messages on spans are
 * the error's code or class, never its text: a message may quote a token, a key or SQL values.
 */
import {
  context,
  createContextKey,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer
} from '@opentelemetry/api'
import type { Tracing } from './provider.js'

/** What a span may say about an error: `LUCID_ERR_2001`, `UpstreamError`, `ECONNREFUSED`. */
export function errorLabel(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown }
  if (typeof e?.code === 'string') return e.code
  return typeof e?.name === 'string' ? e.name : 'Error'
}

export function failSpan(span: Span, err: unknown): void {
  const label = errorLabel(err)
  span.setAttribute('error.type', label)
  span.setStatus({ code: SpanStatusCode.ERROR, message: label })
}

async function runIn<T>(span: Span, parent: Context, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = trace.setSpan(parent, span)
  try {
    return await context.with(ctx, fn, undefined, ctx)
  } catch (err) {
    failSpan(span, err)
    throw err
  } finally {
    span.end()
  }
}

/**
 * A span that is only created when it turns out to matter: when a child span starts inside it
 * (then it is started, back-dated to `start`), or when its work ran long or failed (then it is
 * recorded afterwards). A stage answered from memory in microseconds costs no span at all.
 */
export interface LazySpan {
  readonly tracer: Tracer
  readonly name: string
  /** Context of the would-be parent. */
  readonly parent: Context
  /** `performance.now()` when the work started. */
  readonly start: number
  span?: Span
  /** `parent` with `span` set, once started. */
  context?: Context
}

const LAZY_SPAN = createContextKey('lucid.lazy-span')

/** `parent` carrying a lazy span, for `context.with` around the work it covers. */
export function withLazySpan(lazy: LazySpan): Context {
  return lazy.parent.setValue(LAZY_SPAN, lazy)
}

/** The context children should use: the lazy span started now if there is one pending. */
function parentFor(active: Context): Context {
  const lazy = active.getValue(LAZY_SPAN) as LazySpan | undefined
  if (lazy === undefined) return active
  if (lazy.context === undefined) {
    lazy.span = lazy.tracer.startSpan(lazy.name, { kind: SpanKind.INTERNAL, startTime: lazy.start }, lazy.parent)
    lazy.context = trace.setSpan(lazy.parent, lazy.span)
  }
  return lazy.context
}

/** Ends a lazy span: records it now when it ran at least `minMs` or failed, unless it already exists. */
export function endLazySpan(lazy: LazySpan, minMs: number, err?: unknown): void {
  const end = performance.now()
  if (lazy.span === undefined && (end - lazy.start >= minMs || err !== undefined)) {
    lazy.span = lazy.tracer.startSpan(lazy.name, { kind: SpanKind.INTERNAL, startTime: lazy.start }, lazy.parent)
  }
  if (lazy.span === undefined) return
  if (err !== undefined) failSpan(lazy.span, err)
  lazy.span.end(end)
}

/**
 * `fn` inside a child of the active span — only when there is a recording one: a query made by a
 * background poll outside any request or job is not worth a trace of its own.
 */
export function inChildSpan<T>(
  tracing: Tracing,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: () => Promise<T>
): Promise<T> {
  const active = parentFor(context.active())
  if (trace.getSpan(active)?.isRecording() !== true) return fn()
  return runIn(tracing.tracer.startSpan(name, { kind, attributes }, active), active, fn)
}

/**
 * `fn` inside a new root span (a background job run): its own trace, whatever is active. `fn`
 * gets the span's context to hand on by argument (TRACING_CONTEXT=explicit has no active context).
 */
export function inRootSpan<T>(
  tracing: Tracing,
  name: string,
  attributes: Attributes,
  fn: (ctx: Context) => Promise<T>
): Promise<T> {
  return runIn(
    tracing.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, root: true }, ROOT_CONTEXT),
    ROOT_CONTEXT,
    fn
  )
}
