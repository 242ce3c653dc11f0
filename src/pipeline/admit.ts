/**
 * Stage 1, admit (issue 14; issue 12 findings 3 and 10): a per-client bound with a FIFO queue, the
 * process's in-flight cap and sustained-overload shedding, before anything else is spent on the
 * request. Refusals are immediate (503/5008 for the process, 429/3001 for one client, both with
 * Retry-After). Bodies must then arrive at a minimum rate (408/1011). Framework-free: the pipeline
 * passes the client address and the raw response.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { AdmissionTicket, QueuedAdmission } from '../admission/admission.js'
import { guardBody, type BodyDeadlineOptions } from '../admission/body-deadline.js'
import { LucidError } from '../errors.js'

/** A ticket now or a queued admission; throws the LucidError to answer when refused. */
export type Admit = (ip: string) => AdmissionTicket | QueuedAdmission

/** The ticket is held until the response is written ('finish') or the client went away ('close'). */
function hold(res: ServerResponse, ticket: AdmissionTicket): void {
  res.once('finish', ticket.release)
  res.once('close', ticket.release)
}

/** Admits one request; `next` is called once, with the refusal when there is one. */
export function admitRequest(admit: Admit, ip: string, res: ServerResponse, next: (err?: Error) => void): void {
  let result
  try {
    result = admit(ip)
  } catch (err) {
    return next(err as Error)
  }
  if ('release' in result) {
    hold(res, result)
    return next()
  }
  const queued = result
  const gone = () => queued.cancel()
  res.once('close', gone)
  queued.ticket.then(
    (ticket) => {
      res.off('close', gone)
      hold(res, ticket)
      if (res.destroyed) ticket.release()
      next()
    },
    (err: unknown) => {
      res.off('close', gone)
      next(err as Error)
    }
  )
}

export const hasBody = (headers: IncomingHttpHeaders): boolean =>
  headers['transfer-encoding'] !== undefined ||
  (headers['content-length'] !== undefined && headers['content-length'] !== '0')

const bodyTimedOut = () =>
  new LucidError('REQUEST_TIMEOUT', 'Request body not received in time', { headers: { connection: 'close' } })

/** The body, guarded by REQUEST_BODY_TIMEOUT_MS and REQUEST_BODY_MIN_BYTES_PER_S (slow-body defence). */
export function guardRequestBody(headers: IncomingHttpHeaders, payload: Readable, rule: BodyDeadlineOptions): Readable {
  return hasBody(headers) ? guardBody(payload, rule, bodyTimedOut) : payload
}

/**
 * An error answered before the body was read: Node would keep reading (and discarding) the rest
 * for up to REQUEST_TIMEOUT_MS, so a trickling client would keep its socket; it is closed instead.
 */
export const closeAfterEarlyError = (status: number, req: IncomingMessage): boolean =>
  status >= 400 && !req.complete && hasBody(req.headers)
