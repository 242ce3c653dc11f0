/**
 * Admission: the first stage of the request path (STYLE.md: admit → identify → authenticate →
 * limit → …). No Fastify import: the HTTP hook and the WebSocket upgrade path call the same
 * `admit`, and the next refactor calls it as its "admit" stage.
 *
 * Three bounds, each answering a different attack or accident:
 * - per client, at most `maxPerClient` requests are in progress; more wait in that client's FIFO
 *   queue instead of being refused, so a burst is served, not shed (issue 14), while one client —
 *   45 sockets trickling a body, say — can never fill the process's capacity (issue 12 finding 3);
 * - the process as a whole admits at most `maxInFlight`: beyond it, work is admitted beyond what the
 *   process can serve, and a request gets an immediate 503 instead of a place in a growing queue;
 * - while `overloaded()` reports sustained overload (overload.ts), new requests get a fast 503.
 * A client's queue is bounded in length and in waiting time (429: the excess is its own).
 */
export type RefusalReason = 'overloaded' | 'in_flight' | 'client_queue_full' | 'client_queue_timeout'

/** Why a request was not admitted; `status` is 503 for the process's overload, 429 for the client's excess. */
export class AdmissionRefused extends Error {
  readonly status: 429 | 503
  constructor(
    readonly reason: RefusalReason,
    readonly retryAfterS: number
  ) {
    super(`request not admitted: ${reason}`)
    this.name = 'AdmissionRefused'
    this.status = reason === 'overloaded' || reason === 'in_flight' ? 503 : 429
  }
}

export interface AdmissionTicket {
  /** Ends the request's claim on capacity; idempotent. */
  release(): void
}

/** A request waiting in its client's queue: `cancel` when the client went away meanwhile. */
export interface QueuedAdmission {
  ticket: Promise<AdmissionTicket>
  cancel(): void
}

export interface AdmissionOptions {
  /** Requests in progress per process (0 = no cap). */
  maxInFlight: number
  /** Requests in progress per client (0 = no per-client bound). */
  maxPerClient: number
  /** Requests a client may have waiting beyond `maxPerClient` (default 1024). */
  maxQueuedPerClient?: number
  /** How long a queued request may wait for its client's slot, ms (default 10 000). */
  queueTimeoutMs?: number
  /** Sustained-overload signal; absent = never. */
  overloaded?: () => boolean
}

export interface AdmissionStats {
  inFlight: number
  queued: number
  clients: number
}

export interface Admission {
  /** A ticket now, a queued admission, or throws AdmissionRefused. */
  admit(client: string): AdmissionTicket | QueuedAdmission
  stats(): AdmissionStats
}

interface Waiter {
  resolve(t: AdmissionTicket): void
  reject(e: AdmissionRefused): void
  timer: NodeJS.Timeout
  done: boolean
}

interface ClientState {
  active: number
  queue: Waiter[]
}

export function createAdmission(opts: AdmissionOptions): Admission {
  const clients = new Map<string, ClientState>()
  const maxQueued = opts.maxQueuedPerClient ?? 1024
  const queueTimeoutMs = opts.queueTimeoutMs ?? 10_000
  let inFlight = 0
  let queued = 0

  function ticketFor(client: string, state: ClientState): AdmissionTicket {
    let held = true
    return {
      release() {
        if (!held) return
        held = false
        // The slot passes to the client's next waiter, if any; the process's count is unchanged.
        for (let w = state.queue.shift(); w !== undefined; w = state.queue.shift()) {
          queued--
          if (w.done) continue
          w.done = true
          clearTimeout(w.timer)
          return w.resolve(ticketFor(client, state))
        }
        inFlight--
        state.active--
        if (state.active === 0) clients.delete(client)
      }
    }
  }

  return {
    admit(client) {
      if (opts.overloaded?.() === true) throw new AdmissionRefused('overloaded', 1)
      if (opts.maxInFlight > 0 && inFlight >= opts.maxInFlight) throw new AdmissionRefused('in_flight', 1)
      let state = clients.get(client)
      if (state === undefined) {
        state = { active: 0, queue: [] }
        clients.set(client, state)
      }
      if (opts.maxPerClient === 0 || state.active < opts.maxPerClient) {
        state.active++
        inFlight++
        return ticketFor(client, state)
      }
      if (state.queue.length >= maxQueued) throw new AdmissionRefused('client_queue_full', 1)
      const s = state
      let waiter: Waiter | undefined
      const leave = (): void => {
        if (waiter === undefined || waiter.done) return
        waiter.done = true
        clearTimeout(waiter.timer)
        const i = s.queue.indexOf(waiter)
        if (i >= 0) {
          s.queue.splice(i, 1)
          queued--
        }
        waiter.reject(new AdmissionRefused('client_queue_timeout', 1))
      }
      const ticket = new Promise<AdmissionTicket>((resolve, reject) => {
        // Late is fine here: a timer firing late only lets a request wait a little longer.
        waiter = { resolve, reject, done: false, timer: setTimeout(leave, queueTimeoutMs) }
        s.queue.push(waiter)
        queued++
      })
      return { ticket, cancel: leave }
    },
    stats: () => ({ inFlight, queued, clients: clients.size })
  }
}
