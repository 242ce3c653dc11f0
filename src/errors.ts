/**
 * One registry of LUCID_ERR_* codes for the whole gateway (CONTRACT.md section 3), in the shape
 * Fastify core uses for its own errors: a code, a default message and an HTTP status.
 */
export const ErrorCodes = {
  INVALID_REQUEST: { code: 'LUCID_ERR_1001', status: 422, message: 'Invalid request' },
  INVALID_UUID: { code: 'LUCID_ERR_1005', status: 422, message: 'Invalid UUID' },
  INVALID_JSON: { code: 'LUCID_ERR_1009', status: 400, message: 'Malformed JSON body' },
  REQUEST_TOO_LARGE: { code: 'LUCID_ERR_1010', status: 413, message: 'Request body too large' },
  // Headers or body not received in time (slow-client defence, issue 12).
  REQUEST_TIMEOUT: { code: 'LUCID_ERR_1011', status: 408, message: 'Request not received in time' },
  AUTH_REQUIRED: { code: 'LUCID_ERR_2001', status: 401, message: 'Authentication required' },
  TOKEN_EXPIRED: { code: 'LUCID_ERR_2002', status: 401, message: 'Token has expired' },
  TOKEN_INVALID: { code: 'LUCID_ERR_2003', status: 401, message: 'Token is invalid or revoked' },
  FORBIDDEN: { code: 'LUCID_ERR_2004', status: 403, message: 'Insufficient permissions' },
  ACCOUNT_LOCKED: { code: 'LUCID_ERR_2005', status: 401, message: 'Account is locked' },
  CODE_EXPIRED: { code: 'LUCID_ERR_2006', status: 401, message: 'Code or link is invalid, expired or already used' },
  TOTP_INVALID: { code: 'LUCID_ERR_2007', status: 401, message: 'TOTP code missing or invalid' },
  SIGNATURE_INVALID: { code: 'LUCID_ERR_2008', status: 401, message: 'Wallet signature is invalid' },
  NONCE_INVALID: {
    code: 'LUCID_ERR_2009',
    status: 401,
    message: 'Challenge nonce is unknown, expired or already used'
  },
  REFRESH_INVALID: { code: 'LUCID_ERR_2010', status: 401, message: 'Refresh token is invalid' },
  RATE_LIMITED: { code: 'LUCID_ERR_3001', status: 429, message: 'Rate limit exceeded' },
  BANDWIDTH_LIMITED: { code: 'LUCID_ERR_3004', status: 429, message: 'Bandwidth limit exceeded' },
  NOT_FOUND: { code: 'LUCID_ERR_4001', status: 404, message: 'Resource not found' },
  ALREADY_EXISTS: { code: 'LUCID_ERR_4002', status: 409, message: 'Resource already exists' },
  NOT_ALLOWED: { code: 'LUCID_ERR_4003', status: 405, message: 'Operation not allowed' },
  SESSION_SIZE_LIMIT: { code: 'LUCID_ERR_4005', status: 413, message: 'Session size limit exceeded' },
  CHUNK_SIZE_LIMIT: { code: 'LUCID_ERR_4006', status: 413, message: 'Chunk size limit exceeded' },
  INVALID_STATE: { code: 'LUCID_ERR_4007', status: 409, message: 'Invalid session state' },
  INTERNAL: { code: 'LUCID_ERR_5001', status: 500, message: 'Internal server error' },
  DATABASE_UNAVAILABLE: { code: 'LUCID_ERR_5002', status: 503, message: 'Database unavailable' },
  BAD_UPSTREAM: { code: 'LUCID_ERR_5003', status: 502, message: 'Bad response from upstream service' },
  UPSTREAM_TIMEOUT: { code: 'LUCID_ERR_5006', status: 504, message: 'Upstream service timed out' },
  CIRCUIT_OPEN: { code: 'LUCID_ERR_5007', status: 503, message: 'Upstream service circuit is open' },
  SERVICE_UNAVAILABLE: { code: 'LUCID_ERR_5008', status: 503, message: 'Service unavailable' },
  // The volume that holds uploads is full (ENOSPC/EDQUOT): nothing was stored.
  STORAGE_FULL: { code: 'LUCID_ERR_5009', status: 507, message: 'Storage full' }
} as const

export type ErrorKind = keyof typeof ErrorCodes

export interface ValidationIssue {
  field: string
  message: string
}

export interface LucidErrorOptions {
  /** Overrides the registry's status (e.g. 400 instead of 422 for a 1001). */
  status?: number
  details?: Record<string, unknown>
  headers?: Record<string, string>
  cause?: unknown
}

export class LucidError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(
    readonly kind: ErrorKind,
    message?: string,
    opts: LucidErrorOptions = {}
  ) {
    const def = ErrorCodes[kind]
    super(message ?? def.message, { cause: opts.cause })
    this.name = 'LucidError'
    this.code = def.code
    this.statusCode = opts.status ?? def.status
    this.details = opts.details ?? {}
    this.headers = opts.headers ?? {}
  }
}

export function lucidError(kind: ErrorKind, message?: string, opts?: LucidErrorOptions): LucidError {
  return new LucidError(kind, message, opts)
}

export function validationError(
  issues: ValidationIssue[],
  status = 422,
  message = 'Request validation failed'
): LucidError {
  return new LucidError('INVALID_REQUEST', message, { status, details: { validation_errors: issues } })
}

export interface ErrorEnvelope {
  error: {
    code: string
    message: string
    details: Record<string, unknown>
    request_id: string
    timestamp: string
    service: 'api-gateway'
    version: 'v1'
  }
}

export function envelope(
  requestId: string,
  code: string,
  message: string,
  details: Record<string, unknown> = {}
): ErrorEnvelope {
  return {
    error: {
      code,
      message,
      details,
      request_id: requestId,
      timestamp: new Date().toISOString(),
      service: 'api-gateway',
      version: 'v1'
    }
  }
}
