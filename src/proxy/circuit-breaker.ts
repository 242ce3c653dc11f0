/**
 * Circuit breaker per upstream host (CONTRACT.md section 5): closed → open after N consecutive
 * failures (optionally only once a minimum number of requests was seen), open → half-open after
 * the open period, half-open admits a limited number of probes and closes after M successes;
 * any failure while half-open opens it again. The clock is injected; no Fastify import.
 */
export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number
  /** Successes in half-open that close it (default 2). */
  successThreshold?: number
  /** How long it stays open before probing, ms (default 30 000). */
  openMs?: number
  /** Probes admitted at once while half-open (default 1). */
  halfOpenMaxProbes?: number
  /** Requests that must have been seen before the circuit may open (default 0). */
  minimumRequests?: number
  now?: () => number
  onStateChange?: (from: BreakerState, to: BreakerState) => void
}

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 }

export class CircuitBreaker {
  private stateValue: BreakerState = 'closed'
  private failures = 0
  private successes = 0
  private requests = 0
  private probes = 0
  private openedAt = 0
  private readonly o: Required<Omit<BreakerOptions, 'onStateChange'>> & Pick<BreakerOptions, 'onStateChange'>

  constructor(opts: BreakerOptions = {}) {
    this.o = {
      failureThreshold: opts.failureThreshold ?? 5,
      successThreshold: opts.successThreshold ?? 2,
      openMs: opts.openMs ?? 30_000,
      halfOpenMaxProbes: opts.halfOpenMaxProbes ?? 1,
      minimumRequests: opts.minimumRequests ?? 0,
      now: opts.now ?? Date.now,
      onStateChange: opts.onStateChange
    }
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.o.now() - this.openedAt >= this.o.openMs) this.transition('half_open')
    return this.stateValue
  }

  /** Milliseconds until an open circuit half-opens (0 otherwise). */
  retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.o.openMs - (this.o.now() - this.openedAt)) : 0
  }

  /** Whether a request may go now; in half-open this reserves a probe slot. */
  tryAcquire(): boolean {
    const s = this.state
    if (s === 'closed') return true
    if (s === 'open') return false
    if (this.probes >= this.o.halfOpenMaxProbes) return false
    this.probes++
    return true
  }

  /** True when a request would be admitted, without reserving anything (host selection). */
  wouldAdmit(): boolean {
    const s = this.state
    return s === 'closed' || (s === 'half_open' && this.probes < this.o.halfOpenMaxProbes)
  }

  /** Gives back a half-open probe slot without an outcome (the client went away). */
  release(): void {
    if (this.stateValue === 'half_open') this.probes = Math.max(0, this.probes - 1)
  }

  onSuccess(): void {
    this.requests++
    if (this.stateValue === 'half_open') {
      this.probes = Math.max(0, this.probes - 1)
      if (++this.successes >= this.o.successThreshold) this.transition('closed')
      return
    }
    this.failures = 0
  }

  onFailure(): void {
    this.requests++
    if (this.stateValue === 'half_open') {
      this.probes = Math.max(0, this.probes - 1)
      this.transition('open')
      return
    }
    if (
      this.stateValue === 'closed' &&
      ++this.failures >= this.o.failureThreshold &&
      this.requests >= this.o.minimumRequests
    )
      this.transition('open')
  }

  private transition(to: BreakerState): void {
    const from = this.stateValue
    if (from === to) return
    this.stateValue = to
    this.failures = 0
    this.successes = 0
    this.probes = 0
    if (to === 'open') this.openedAt = this.o.now()
    this.o.onStateChange?.(from, to)
  }
}
