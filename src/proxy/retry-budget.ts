/**
 * Retry budget (issue 5): retries may be at most `ratio` of requests over a sliding window, so a
 * failing upstream is not hit harder by its own clients' retries. Counts live in one-second
 * buckets; the clock is injected.
 */
export interface RetryBudgetSnapshot {
  /** Share of requests that may be retries. */
  ratio: number
  window_s: number
  /** Retries always allowed per window. */
  min_retries: number
  requests: number
  retries: number
  /** Retries still available in the current window. */
  available: number
}

export class RetryBudget {
  private readonly buckets: { second: number; requests: number; retries: number }[] = []

  constructor(
    private readonly ratio = 0.2,
    private readonly windowS = 10,
    /** Retries always allowed per window, so a quiet upstream can still be retried. */
    private readonly minRetries = 3,
    private readonly now: () => number = Date.now
  ) {}

  private bucket() {
    const second = Math.floor(this.now() / 1000)
    while (this.buckets.length > 0 && this.buckets[0].second <= second - this.windowS) this.buckets.shift()
    let b = this.buckets[this.buckets.length - 1]
    if (b === undefined || b.second !== second) {
      b = { second, requests: 0, retries: 0 }
      this.buckets.push(b)
    }
    return b
  }

  recordRequest(): void {
    this.bucket().requests++
  }

  /** Takes a retry from the budget when one is available. */
  tryRetry(): boolean {
    const current = this.bucket()
    const requests = this.buckets.reduce((n, b) => n + b.requests, 0)
    const retries = this.buckets.reduce((n, b) => n + b.retries, 0)
    if (retries >= this.minRetries && retries + 1 > requests * this.ratio) return false
    current.retries++
    return true
  }

  snapshot(): RetryBudgetSnapshot {
    this.bucket()
    const requests = this.buckets.reduce((n, b) => n + b.requests, 0)
    const retries = this.buckets.reduce((n, b) => n + b.retries, 0)
    const allowed = Math.max(this.minRetries, Math.floor(requests * this.ratio))
    const available = Math.max(0, allowed - retries)
    return { ratio: this.ratio, window_s: this.windowS, min_retries: this.minRetries, requests, retries, available }
  }
}
