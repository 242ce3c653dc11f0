/**
 * An error answered straight on a socket, where no Fastify reply exists (a malformed request the
 * HTTP parser refused, a refused WebSocket upgrade): the envelope of CONTRACT.md, the request id,
 * the API security headers, then the connection is closed.
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import { envelope } from '../errors.js'
import { API_RESPONSE_HEADERS } from './security-headers.js'

export interface RawError {
  status: number
  code: string
  message: string
  details?: Record<string, unknown>
  /** Headers the error carries (e.g. Retry-After); the envelope's own headers win over them. */
  headers?: Record<string, string>
}

export function endWithError(socket: Duplex, err: RawError, requestId: string): void {
  const body = JSON.stringify(envelope(requestId, err.code, err.message, err.details))
  const headers: Record<string, string> = {
    ...API_RESPONSE_HEADERS,
    ...err.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    connection: 'close'
  }
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')
  socket.end(`HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}\r\n${head}\r\n\r\n${body}`)
}
