/**
 * How an upstream call failed (issue 5): the kinds the proxy maps to 502/503/504
 * (src/errors/domain.ts), and `classify`, which reads them from undici's and the socket's errors.
 */
import { errors as undiciErrors } from 'undici'

export type UpstreamFailure = 'unavailable' | 'timeout' | 'bad_response' | 'circuit_open'

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    readonly upstream: string,
    message: string,
    readonly retryAfterMs = 0,
    options?: { cause?: unknown }
  ) {
    super(message, options)
    this.name = 'UpstreamError'
  }
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ENETUNREACH'
])

export function classify(err: unknown): UpstreamFailure {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  )
    return 'timeout'
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  )
    return 'timeout'
  if (code !== undefined && CONNECT_ERRORS.has(code)) return 'unavailable'
  // Bytes that are not HTTP (undici's parser error often carries no code): the upstream answered,
  // badly. A bad response, not an outage, so it is never retried (issue 13).
  if (err instanceof undiciErrors.HTTPParserError || err instanceof undiciErrors.HeadersOverflowError)
    return 'bad_response'
  if (
    code?.startsWith('HPE_') ||
    err instanceof undiciErrors.ResponseContentLengthMismatchError ||
    code === 'UND_ERR_INFO'
  )
    return 'bad_response'
  return 'unavailable'
}
