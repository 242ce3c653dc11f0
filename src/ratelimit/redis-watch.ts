/**
 * Decides whether Redis itself is slow or gone, from evidence about Redis rather than about this
 * process (issue 14). The old limiter raced every call against a 10 ms timer on the same event
 * loop that was busy serving the burst: the timer fired late, Redis was declared failed, and the
 * instance switched to local shares while its abandoned calls still counted in Redis.
 *
 * Evidence used here, none of which a busy loop can fake:
 * - the connection is closed or reconnecting (`isConnected`);
 * - the oldest call in flight is overdue by `overdueMs` of wall-clock time *and* is still
 *   unanswered after the loop has run one more I/O poll phase. A reply that reached our socket
 *   while the loop was busy is read in that poll phase, so only a reply that has not arrived
 *   counts (replies on one connection come back in order, so checking the oldest is enough);
 * - `maxConsecutiveErrors` calls in a row failed. One failure decides only that request.
 */
export const ABANDONED: unique symbol = Symbol('abandoned')

export type FailureReason = 'overdue' | 'disconnected' | 'errors'

export interface RedisWatchOptions {
  /** Wall-clock milliseconds a reply may be overdue before Redis counts as failed. */
  overdueMs: number
  /** Failed calls in a row that count as Redis failing (default 3). */
  maxConsecutiveErrors?: number
  /** True while the connection is usable (ioredis `status === 'ready'`). */
  isConnected(): boolean
  /** Only while this returns true are calls watched (in the failure mode nothing waits on Redis). */
  watching(): boolean
  onFailure(reason: FailureReason, err?: unknown): void
}

export interface RedisWatch {
  /**
   * The reply of `p`, or ABANDONED when Redis was declared failed while waiting for it. A reply
   * that arrives after that goes to `late`: the caller must know the call still counted.
   */
  call<T>(p: Promise<T>, late?: (value: T) => void): Promise<T | typeof ABANDONED>
  /** Resolves every call in flight with ABANDONED (the caller decides them in the failure mode). */
  abandonAll(): void
  inFlight(): number
  start(): void
  stop(): void
}

interface Pending {
  sentAt: number
  abandon(): void
}

export function createRedisWatch(opts: RedisWatchOptions): RedisWatch {
  const pending = new Map<number, Pending>()
  const maxErrors = opts.maxConsecutiveErrors ?? 3
  let nextId = 0
  let errors = 0
  let checking = false
  let timer: NodeJS.Timeout | undefined

  const oldestAge = (): number => {
    const first = pending.values().next().value as Pending | undefined
    return first === undefined ? 0 : performance.now() - first.sentAt
  }

  function check(): void {
    if (checking || !opts.watching() || oldestAge() < opts.overdueMs) return
    checking = true
    // Timers run before the poll phase: let the loop read what is already in our sockets first.
    setImmediate(() => {
      checking = false
      if (opts.watching() && oldestAge() >= opts.overdueMs) opts.onFailure('overdue')
    })
  }

  return {
    call<T>(p: Promise<T>, late?: (value: T) => void): Promise<T | typeof ABANDONED> {
      return new Promise((resolve, reject) => {
        const id = nextId++
        let settled = false
        pending.set(id, {
          sentAt: performance.now(),
          abandon() {
            settled = true
            pending.delete(id)
            resolve(ABANDONED)
          }
        })
        p.then(
          (value) => {
            if (settled) return late?.(value)
            settled = true
            pending.delete(id)
            errors = 0
            resolve(value)
          },
          (err: unknown) => {
            if (settled) return
            settled = true
            pending.delete(id)
            errors++
            if (!opts.isConnected()) opts.onFailure('disconnected', err)
            else if (errors >= maxErrors) opts.onFailure('errors', err)
            reject(err)
          }
        )
      })
    },
    abandonAll() {
      errors = 0
      for (const p of [...pending.values()]) p.abandon()
    },
    inFlight: () => pending.size,
    start() {
      // A quarter of the allowance, so an overdue reply is noticed within 1.25 × overdueMs.
      timer = setInterval(check, Math.max(5, Math.min(50, Math.floor(opts.overdueMs / 4))))
      timer.unref()
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
    }
  }
}
