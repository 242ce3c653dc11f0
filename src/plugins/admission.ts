/**
 * Admission (issue 14; issue 12 findings 3 and 10) as one onRequest hook, the first after CORS and
 * the host check, over the framework-free src/admission: a per-client bound with a FIFO queue, the
 * process's in-flight cap and sustained-overload shedding. Refusals are immediate: 503/5008 for the
 * process's overload, 429/3001 for one client's excess, both with Retry-After. Probes and /metrics
 * (`config.rateLimit: false`) are never admitted or shed, so an overloaded instance is not
 * restarted. Bodies must arrive at a minimum rate (408/1011), and headers within
 * HEADERS_TIMEOUT_MS (408/1011 from `clientErrorHandler`, the envelope written on the raw socket).
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import http from 'node:http'
import type { Duplex, Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { LucidError, envelope } from '../errors.js'
import { AdmissionRefused, createAdmission, type AdmissionStats, type AdmissionTicket } from '../admission/admission.js'
import { createOverloadDetector } from '../admission/overload.js'
import { guardBody } from '../admission/body-deadline.js'
import { clientKey } from '../admission/client-key.js'
import { API_CSP, SECURITY_HEADERS, requestIdFrom } from './http-hygiene.js'

declare module 'fastify' {
  interface FastifyInstance {
    admission: AdmissionService
  }
}

export interface AdmissionService {
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

const bodyTimedOut = () =>
  new LucidError('REQUEST_TIMEOUT', 'Request body not received in time', { headers: { connection: 'close' } })

const hasBody = (r: FastifyRequest) =>
  r.headers['transfer-encoding'] !== undefined ||
  (r.headers['content-length'] !== undefined && r.headers['content-length'] !== '0')

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
  const requestId = requestIdFrom(undefined)
  const body = JSON.stringify(envelope(requestId, code, message))
  const headers = {
    ...SECURITY_HEADERS,
    'content-security-policy': API_CSP,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    connection: 'close'
  }
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${head}\r\n\r\n${body}`)
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
  const hold = (reply: FastifyReply, ticket: AdmissionTicket) => {
    // 'finish' when the response is written, 'close' if the client went away first: once.
    reply.raw.once('finish', ticket.release)
    reply.raw.once('close', ticket.release)
  }

  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config?.rateLimit === false) return done()
    let result
    try {
      result = admission.admit(clientOf(request.ip))
    } catch (err) {
      return done(refuse(err))
    }
    if ('release' in result) {
      hold(reply, result)
      return done()
    }
    const queued = result
    const gone = () => queued.cancel()
    reply.raw.once('close', gone)
    queued.ticket.then(
      (ticket) => {
        reply.raw.off('close', gone)
        hold(reply, ticket)
        if (reply.raw.destroyed) ticket.release()
        done()
      },
      (err: unknown) => {
        reply.raw.off('close', gone)
        done(refuse(err))
      }
    )
  })

  // An error answered before the body was read: Node would keep reading (and discarding) the rest
  // for up to REQUEST_TIMEOUT_MS, so a trickling client would keep its socket; close it instead.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !request.raw.complete && hasBody(request)) reply.header('connection', 'close')
    return payload
  })

  const bodyRule = { timeoutMs: cfg.requestBodyTimeoutMs, minBytesPerS: cfg.requestBodyMinBytesPerS }
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.routeOptions.config?.rateLimit === false || !hasBody(request)) return payload
    return guardBody(payload as Readable, bodyRule, bodyTimedOut)
  })

  app.decorate('admission', {
    async admitUpgrade(ip: string) {
      try {
        const r = admission.admit(clientOf(ip))
        return 'release' in r ? r : await r.ticket
      } catch (err) {
        throw refuse(err)
      }
    },
    stats
  })
}

export default fp(admissionPlugin, { name: 'lucid-admission', dependencies: ['lucid-metrics'] })
