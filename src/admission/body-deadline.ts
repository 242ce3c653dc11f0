/**
 * A deadline on receiving a request body (issue 12 finding 3: 45 sockets trickling one byte of a
 * 1000-byte body held the gateway's whole capacity). The rule is Apache mod_reqtimeout's
 * `body=…,MinRate=…`: the body must be complete within `timeoutMs`, extended by one second for
 * every `minBytesPerS` bytes received, so a slow but honest upload keeps going and a trickle is cut.
 * Time during which the gateway itself is not reading (backpressure from bandwidth shaping or a slow
 * disk) is not the client's and does not count.
 *
 * One sweep timer serves every body in progress. A sweep only *suspects* a body: the verdict waits
 * for one more I/O poll phase, because bytes that arrived while the event loop was busy are read
 * there — a late timer must not be blamed on the client.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream'

export interface BodyDeadlineOptions {
  /** Base allowance for a whole body, ms (REQUEST_BODY_TIMEOUT_MS, default 10 000). */
  timeoutMs: number
  /** Each this many bytes received adds one second (REQUEST_BODY_MIN_BYTES_PER_S, default 1024). */
  minBytesPerS: number
}

const SWEEP_MS = 250

class GuardedBody extends Transform {
  received = 0
  /** Fastify compares this with Content-Length, as it would the raw stream's count. */
  receivedEncodedLength = 0
  excusedMs = 0
  readonly startedAt = performance.now()

  constructor(
    readonly source: Readable,
    readonly opts: BodyDeadlineOptions,
    readonly onExpired: () => Error
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length
    this.receivedEncodedLength = this.received
    done(null, chunk)
  }

  deadline(): number {
    return this.startedAt + this.opts.timeoutMs + (this.received / this.opts.minBytesPerS) * 1000 + this.excusedMs
  }

  /** True while the gateway is not consuming: the client could not send even if it wanted to. */
  held(): boolean {
    return this.source.isPaused() || this.readableLength >= this.readableHighWaterMark
  }
}

const active = new Set<GuardedBody>()
let sweeper: NodeJS.Timeout | undefined
let lastSweep = 0

function sweep(): void {
  const now = performance.now()
  const elapsed = now - lastSweep
  lastSweep = now
  const suspects: GuardedBody[] = []
  for (const g of active) {
    if (g.held()) g.excusedMs += elapsed
    else if (now > g.deadline()) suspects.push(g)
  }
  if (suspects.length === 0) return
  setImmediate(() => {
    const at = performance.now()
    for (const g of suspects) {
      if (active.has(g) && at > g.deadline()) {
        untrack(g)
        g.destroy(g.onExpired())
      }
    }
  })
}

function track(g: GuardedBody): void {
  active.add(g)
  if (sweeper === undefined) {
    lastSweep = performance.now()
    sweeper = setInterval(sweep, SWEEP_MS)
    sweeper.unref()
  }
}

function untrack(g: GuardedBody): void {
  active.delete(g)
  if (active.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}

/**
 * Wraps `source` (a request body) in a stream that fails with `onExpired()` when the body is not
 * complete in time. The wrapper passes bytes through unchanged.
 */
export function guardBody(source: Readable, opts: BodyDeadlineOptions, onExpired: () => Error): Readable {
  const g = new GuardedBody(source, opts, onExpired)
  track(g)
  const done = () => untrack(g)
  source.once('end', done)
  source.once('close', done)
  g.once('close', done)
  source.on('error', (err) => g.destroy(err))
  return source.pipe(g)
}

/** Bodies being received right now (for metrics and tests). */
export function bodiesInProgress(): number {
  return active.size
}
