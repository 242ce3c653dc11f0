/**
 * Admission (issue 14; issue 12 findings 3 and 10) over the framework-free src/admission: a
 * per-client bound with a FIFO queue, the process's in-flight cap and sustained-overload shedding.
 * This plugin builds them and their metrics; the pipeline's admit stage (src/pipeline/admit.ts)
 * runs them first on every request. Refusals are immediate: 503/5008 for the
 * process's overload, 429/3001 for one client's excess, both with Retry-After. Probes and /metrics
 * (`config.rateLimit: false`) are never admitted or shed, so an overloaded instance is not
 * restarted. Bodies must arrive at a minimum rate (408/1011), and headers within
 * HEADERS_TIMEOUT_MS (408/1011 from `clientErrorHandler`, the envelope written on the raw socket).
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { LucidError } from '../errors.js'
import {
  AdmissionRefused,
  createAdmission,
  type AdmissionStats,
  type AdmissionTicket,
  type QueuedAdmission
} from '../admission/admission.js'
import { createOverloadDetector } from '../admission/overload.js'
import type { BodyDeadlineOptions } from '../admission/body-deadline.js'
import { clientKey } from '../admission/client-key.js'
import { requestIdFrom } from '../http/security-headers.js'
import { endWithError } from '../http/raw-answer.js'

declare module 'fastify' {
  interface FastifyInstance {
    admission: AdmissionService
  }
}

export interface AdmissionService {
  /**
   * Admits one request of client address `ip` (as `request.ip` gives it): a ticket now or a queued
   * admission. Throws — or the queued ticket rejects with — the LucidError to answer.
   * Called by the pipeline's admit stage (src/pipeline/admit.ts).
   */
  admit(ip: string): AdmissionTicket | QueuedAdmission
  /** How fast a request body must arrive (REQUEST_BODY_TIMEOUT_MS, REQUEST_BODY_MIN_BYTES_PER_S). */
  bodyRule: BodyDeadlineOptions
  /**
   * The same admission as an HTTP request's, for paths outside Fastify's request lifecycle (the
   * WebSocket upgrade). Resolves with a ticket — release it once the upgrade is answered or the
   * tunnel closes — or rejects with the LucidError to answer (503/5008 or 429/3001; its `headers`
   * carry Retry-After). `ip` is the client address as `request.ip` would give it.
   */
  admitUpgrade(ip: string): Promise<AdmissionTicket>
  stats(): AdmissionStats & { overloaded: boolean; event_loop_delay_ms: number }
}

/** Start-up (module compilation, migrations) stalls the loop once; that is not overload. */
const STARTUP_GRACE_MS = 2_000

function refusalError(err: unknown): LucidError {
  if (!(err instanceof AdmissionRefused)) return err as LucidError
  const headers = { 'retry-after': String(err.retryAfterS) }
  if (err.status === 503)
    return new LucidError('SERVICE_UNAVAILABLE', 'Gateway overloaded; retry shortly', {
      headers,
      details: { reason: err.reason }
    })
  return new LucidError('RATE_LIMITED', 'Too many concurrent requests from this client; retry shortly', {
    headers,
    details: { policy: 'concurrency', reason: err.reason }
  })
}

/**
 * Fastify `clientErrorHandler`: what Node refuses before a request exists (headers not received
 * within HEADERS_TIMEOUT_MS, malformed or oversized headers) still gets the envelope, a request id
 * and the security headers, when the socket can still take an answer.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inProgress = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable || inProgress) {
    socket.destroy()
    return
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'LUCID_ERR_1011', 'Request not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'LUCID_ERR_1001', 'Request headers too large']
        : [400, 'LUCID_ERR_1001', 'Malformed HTTP request']
  endWithError(socket, { status, code, message }, requestIdFrom(undefined))
}

async function admissionPlugin(app: FastifyInstance, opts: { config: Readonly<Config> }): Promise<void> {
  const cfg = opts.config
  // One client is what the rate limits call one (RATE_LIMIT_IPV6_PREFIX), so the bounds agree.
  const clientOf = (ip: string) => clientKey(ip, cfg.rateLimit.ipv6PrefixBits)
  const overload =
    cfg.loadShedMaxEventLoopDelayMs > 0
      ? createOverloadDetector({ targetMs: cfg.loadShedMaxEventLoopDelayMs, sustainMs: cfg.loadShedSustainMs })
      : undefined
  const admission = createAdmission({
    maxInFlight: cfg.loadShedMaxInFlight,
    maxPerClient: cfg.loadShedMaxInFlightPerClient,
    maxQueuedPerClient: cfg.loadShedClientQueue,
    queueTimeoutMs: cfg.loadShedQueueTimeoutMs,
    overloaded: overload?.overloaded
  })
  const stats = () => ({
    ...admission.stats(),
    overloaded: overload?.overloaded() ?? false,
    event_loop_delay_ms: Math.round(overload?.delayMs() ?? 0)
  })
  const registers = [app.metrics.registry]
  new client.Gauge({
    name: 'http_admission_in_flight',
    help: 'Requests admitted and not finished',
    registers,
    collect() {
      this.set(admission.stats().inFlight)
    }
  })
  new client.Gauge({
    name: 'http_admission_queued',
    help: 'Requests waiting for their client’s concurrency slot',
    registers,
    collect() {
      this.set(admission.stats().queued)
    }
  })
  new client.Gauge({
    name: 'http_event_loop_delay_seconds',
    help: 'Last sampled event-loop delay (queueing time in the process)',
    registers,
    collect() {
      this.set((overload?.delayMs() ?? 0) / 1000)
    }
  })
  app.addHook('onReady', async () => overload?.start(STARTUP_GRACE_MS))
  app.addHook('onClose', async () => overload?.stop())

  const refuse = (err: unknown): LucidError => {
    const e = refusalError(err)
    if (err instanceof AdmissionRefused) app.metrics.shed.inc({ reason: err.reason })
    return e
  }
  const admit = (ip: string): AdmissionTicket | QueuedAdmission => {
    let r
    try {
      r = admission.admit(clientOf(ip))
    } catch (err) {
      throw refuse(err)
    }
    if ('release' in r) return r
    return { cancel: r.cancel, ticket: r.ticket.catch((err: unknown) => Promise.reject(refuse(err))) }
  }

  app.decorate('admission', {
    admit,
    bodyRule: { timeoutMs: cfg.requestBodyTimeoutMs, minBytesPerS: cfg.requestBodyMinBytesPerS },
    async admitUpgrade(ip: string) {
      const r = admit(ip)
      return 'release' in r ? r : await r.ticket
    },
    stats
  })
}

export default fp(admissionPlugin, { name: 'lucid-admission', dependencies: ['lucid-metrics'] })
