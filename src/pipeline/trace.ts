/**
 * Stage 0, trace (issue 17): the request's SERVER span and stage timer start before every other
 * stage, so preflights and shed requests are traced too; Server-Timing is granted by a secret
 * header (checked in constant time, then removed so no upstream sees it) or to admins.
 * Framework-free over src/tracing/request.ts. Returns undefined when nothing is to be timed, so
 * the pipeline registers no hook at all with tracing and Server-Timing off.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Tracing } from '../tracing/provider.js'
import { startRequestTrace, type RequestTrace } from '../tracing/request.js'
import type { ServerTimingSettings } from '../tracing/settings.js'

export interface TracedRequest {
  method: string
  url: string
  scheme: string
  ip: string
  id: string
  /** Fastify's view of the headers (the same object as the raw request's). */
  headers: IncomingHttpHeaders
}

const sha256 = (s: string) => createHash('sha256').update(s).digest()

export function createTraceStart(
  tracing: Tracing | undefined,
  serverTiming: ServerTimingSettings
): ((r: TracedRequest) => RequestTrace | undefined) | undefined {
  if (tracing === undefined && serverTiming.mode === 'off') return undefined
  const header = serverTiming.header
  const secret = serverTiming.secret === undefined ? undefined : sha256(serverTiming.secret)
  const granted = (headers: IncomingHttpHeaders): boolean => {
    const v = headers[header]
    if (v === undefined) return false
    delete headers[header]
    return typeof v === 'string' && secret !== undefined && timingSafeEqual(sha256(v), secret)
  }
  return (r) => {
    const byHeader = serverTiming.mode === 'header' && granted(r.headers)
    // Tracing off and nothing asked for: this request is not timed at all.
    if (tracing === undefined && serverTiming.mode === 'header' && !byHeader) return undefined
    const q = r.url.indexOf('?')
    const rt = startRequestTrace(tracing, {
      method: r.method,
      path: q < 0 ? r.url : r.url.slice(0, q),
      scheme: r.scheme,
      clientAddress: r.ip,
      requestId: r.id,
      headers: r.headers
    })
    rt.timingGranted = byHeader
    return rt
  }
}
