/**
 * One upstream service: a keep-alive undici Pool per host, round-robin over hosts whose breaker
 * admits, explicit connect/headers/body timeouts, safe retries within a budget, and active
 * health checks. Used by the proxy routes and by jobs that call lucid_blocks. No Fastify import.
 */
import { LucidError } from '../errors.js'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, type Dispatcher } from 'undici'
import type { UpstreamSignal } from './cancel.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js'
import { RetryBudget, type RetryBudgetSnapshot } from './retry-budget.js'
import type { UpstreamService } from './route-table.js'
import type { Context } from '@opentelemetry/api'
import type { Tracing } from '../tracing/provider.js'
import { startAttempt } from '../tracing/upstream.js'
import { UpstreamError, classify } from './upstream-error.js'

export { UpstreamError, classify, type UpstreamFailure } from './upstream-error.js'

export interface UpstreamRequest {
  method: string
  /** Path and query, already checked. */
  path: string
  /** Lower-case names. With tracing on, `traceparent`/`tracestate` are replaced on each attempt. */
  headers: Record<string, string | string[]>
  /** A Buffer (replayable) or a stream (sent once, never retried). */
  body?: Buffer | Readable
  signal?: UpstreamSignal
  /** May be retried: idempotent method or an Idempotency-Key, and a replayable body. */
  retryable: boolean
  timeoutMs?: number
  /**
   * The trace context the attempt spans hang below (the request's SERVER span, a job's span);
   * without it the active context (TRACING_CONTEXT=async) or none.
   */
  parent?: Context
}

export interface UpstreamResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
  host: string
  attempts: number
}

export interface HostSnapshot {
  host: string
  state: BreakerState
  requests: number
  failures: number
  last_check: { at: string; ok: boolean; latency_ms: number; error?: string } | null
}

export interface UpstreamEvents {
  onResult?(upstream: string, outcome: string, seconds: number): void
  onRetry?(upstream: string): void
  onBreakerChange?(upstream: string, host: string, state: BreakerState): void
  /** A request refused before reaching any host (every breaker open, or no host left). */
  onRefused?(upstream: string, kind: 'circuit_open' | 'unavailable'): void
  onHealthCheck?(upstream: string, host: string, check: NonNullable<HostSnapshot['last_check']>): void
}

interface Host {
  origin: string
  pool: Pool
  breaker: CircuitBreaker
  requests: number
  failures: number
  lastCheck: HostSnapshot['last_check']
}

const RETRY_STATUSES = new Set([502, 503, 504])
const MAX_RETRIES = 2
export interface UpstreamClientOptions {
  breaker?: Omit<BreakerOptions, 'onStateChange' | 'now'>
  now?: () => number
  /** Keep-alive connections per host (bounded: a huge pool lengthens the queueing tail). */
  connections?: number
  events?: UpstreamEvents
  /** One CLIENT span per attempt, its context sent as traceparent (issue 17); absent = untraced. */
  tracing?: Tracing
}

export class UpstreamClient {
  private readonly hosts: Host[]
  private next = 0
  private readonly budget: RetryBudget

  constructor(
    readonly service: UpstreamService,
    private readonly opts: UpstreamClientOptions = {}
  ) {
    this.budget = new RetryBudget(0.2, 10, 10, opts.now)
    this.hosts = service.urls.map((url) => {
      const origin = new URL(url).origin
      const host: Host = {
        origin,
        pool: new Pool(origin, {
          connections: opts.connections ?? 64,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          connect: { timeout: service.connectTimeoutMs },
          headersTimeout: service.timeoutMs,
          bodyTimeout: service.timeoutMs
        }),
        breaker: new CircuitBreaker({
          ...opts.breaker,
          now: opts.now,
          onStateChange: (_from, to) => opts.events?.onBreakerChange?.(service.name, origin, to)
        }),
        requests: 0,
        failures: 0,
        lastCheck: null
      }
      return host
    })
    for (const h of this.hosts) opts.events?.onBreakerChange?.(service.name, h.origin, 'closed')
  }

  /** Round-robin over hosts whose breaker admits; skips those tried already in this request. */
  private pick(tried: Set<Host>): Host {
    const n = this.hosts.length
    for (let i = 0; i < n; i++) {
      const h = this.hosts[(this.next + i) % n]
      if (tried.has(h) || !h.breaker.wouldAdmit()) continue
      if (!h.breaker.tryAcquire()) continue
      this.next = (this.next + i + 1) % n
      return h
    }
    const open = this.hosts.map((h) => h.breaker.retryAfterMs()).filter((ms) => ms > 0)
    const kind = open.length === this.hosts.length ? 'circuit_open' : 'unavailable'
    this.opts.events?.onRefused?.(this.service.name, kind)
    if (kind === 'circuit_open') {
      throw new UpstreamError(
        'circuit_open',
        this.service.name,
        `Circuit open for ${this.service.name}`,
        Math.min(...open)
      )
    }
    throw new UpstreamError('unavailable', this.service.name, `No ${this.service.name} host available`)
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    this.budget.recordRequest()
    const tried = new Set<Host>()
    const started = performance.now()
    let attempt = 0
    for (;;) {
      attempt++
      const host = this.pick(tried)
      tried.add(host)
      host.requests++
      const span = this.opts.tracing === undefined ? undefined : this.attemptSpan(req, host, attempt)
      let res: Dispatcher.ResponseData
      try {
        res = await host.pool.request({
          method: req.method as Dispatcher.HttpMethod,
          path: req.path,
          headers: span?.headers ?? req.headers,
          body: req.body,
          signal: req.signal,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs
        })
      } catch (err) {
        // Cancelled, or the client's own body failed (too large, too slow: a LucidError from the
        // body stream): not the upstream's fault, so neither charged to its breaker nor retried.
        if (req.signal?.aborted || err instanceof LucidError) {
          span?.failed('cancelled')
          host.breaker.release()
          throw err
        }
        host.failures++
        host.breaker.onFailure()
        const kind = classify(err)
        span?.failed(kind)
        // Only failures before any byte reached the upstream's handler are safe to repeat.
        // Failing over to a host not tried yet costs the failed host nothing, so it is not
        // charged to the retry budget; repeating on the same host is.
        if (req.retryable && kind === 'unavailable') {
          if (tried.size < this.hosts.length && attempt <= this.hosts.length) {
            this.opts.events?.onRetry?.(this.service.name)
            continue
          }
          if (await this.retryAllowed(attempt, tried)) continue
        }
        this.opts.events?.onResult?.(this.service.name, kind, (performance.now() - started) / 1000)
        throw new UpstreamError(kind, this.service.name, `${this.service.name}: ${kind}`, 0, { cause: err })
      }
      span?.responded(res.statusCode, res.body)
      if (res.statusCode >= 500) {
        host.failures++
        host.breaker.onFailure()
        if (req.retryable && RETRY_STATUSES.has(res.statusCode) && (await this.retryAllowed(attempt, tried))) {
          await res.body.dump().catch(() => undefined)
          continue
        }
      } else {
        host.breaker.onSuccess()
      }
      this.opts.events?.onResult?.(
        this.service.name,
        res.statusCode >= 500 ? `http_${res.statusCode}` : 'success',
        (performance.now() - started) / 1000
      )
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, host: host.origin, attempts: attempt }
    }
  }

  private attemptSpan(req: UpstreamRequest, host: Host, attempt: number) {
    const info = { upstream: this.service.name, origin: host.origin, attempt, breaker: host.breaker.state }
    const what = { ...info, method: req.method, path: req.path }
    return startAttempt(this.opts.tracing as Tracing, what, req.headers, req.parent)
  }

  private async retryAllowed(attempt: number, tried: Set<Host>): Promise<boolean> {
    if (attempt > MAX_RETRIES || !this.budget.tryRetry()) return false
    this.opts.events?.onRetry?.(this.service.name)
    // Another host may serve at once; the same host gets exponential backoff with jitter.
    if (tried.size < this.hosts.length) return true
    tried.clear()
    await sleep(25 * 2 ** (attempt - 1) + Math.random() * 25)
    return true
  }

  /**
   * A host for a WebSocket upgrade (the tunnel is raw TCP, outside the pool); `done` reports the
   * outcome to its breaker.
   */
  acquireHost(): { origin: string; state: BreakerState; done(ok: boolean): void } {
    const h = this.pick(new Set())
    h.requests++
    return {
      origin: h.origin,
      state: h.breaker.state,
      done: (ok) => {
        if (ok) h.breaker.onSuccess()
        else {
          h.failures++
          h.breaker.onFailure()
        }
      }
    }
  }

  /** GET healthPath on every host; results feed the breakers. */
  async checkHealth(timeoutMs = 5_000): Promise<void> {
    await Promise.all(
      this.hosts.map(async (h) => {
        const start = performance.now()
        try {
          const res = await h.pool.request({
            method: 'GET',
            path: this.service.healthPath,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
            signal: AbortSignal.timeout(timeoutMs)
          })
          await res.body.dump()
          const ok = res.statusCode < 500
          h.lastCheck = {
            at: new Date().toISOString(),
            ok,
            latency_ms: Math.round((performance.now() - start) * 100) / 100,
            error: ok ? undefined : `HTTP ${res.statusCode}`
          }
          this.opts.events?.onHealthCheck?.(this.service.name, h.origin, h.lastCheck)
          if (ok) {
            if (h.breaker.state !== 'open') h.breaker.onSuccess()
          } else h.breaker.onFailure()
        } catch (err) {
          h.lastCheck = {
            at: new Date().toISOString(),
            ok: false,
            latency_ms: Math.round((performance.now() - start) * 100) / 100,
            error: classify(err)
          }
          this.opts.events?.onHealthCheck?.(this.service.name, h.origin, h.lastCheck)
          h.breaker.onFailure()
        }
      })
    )
  }

  /** The retry budget's current window (issue 18 dashboard). */
  retryBudget(): RetryBudgetSnapshot {
    return this.budget.snapshot()
  }

  snapshot(): HostSnapshot[] {
    return this.hosts.map((h) => ({
      host: h.origin,
      state: h.breaker.state,
      requests: h.requests,
      failures: h.failures,
      last_check: h.lastCheck
    }))
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.pool.close().catch(() => undefined)))
  }
}
