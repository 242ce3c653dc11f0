/**
 * Domain errors mapped once (issue 16): the central error handler (src/plugins/errors.ts) passes
 * every thrown value through `mapDomainError` before its own Fastify-specific mapping, so routes
 * throw or let through the services' own errors and never translate them by hand.
 *
 * - BackupError and VolumeError (framework-free cores) → their LucidError;
 * - UpstreamError (src/proxy) → reply-from's taxonomy: 503 unavailable, 504 timeout, 502 bad
 *   response, 503 circuit open with Retry-After; the same for HTTP routes and WebSocket upgrades;
 * - PostgreSQL unique violations (23505) → 409 ALREADY_EXISTS, named by constraint;
 * - connection failures → 503 DATABASE_UNAVAILABLE (wrapDbError).
 * Anything else is returned unchanged.
 */
import { LucidError, type ErrorKind } from '../errors.js'
import { wrapDbError } from '../data/db.js'
import { BackupError } from '../backup/backup.js'
import { VolumeError } from '../volumes/volumes.js'
import { UpstreamError } from '../proxy/upstream-client.js'

/** What a unique constraint (or unique index) protects: the field reported to the client. */
export const UNIQUE_CONSTRAINTS: Record<string, { field: string; message: string }> = {
  users_username_key: { field: 'username', message: 'That username is already taken' },
  users_email_key: { field: 'email', message: 'That email is already taken' },
  users_tron_address_key: { field: 'tron_address', message: 'That tron_address is already taken' },
  backup_schedules_name_key: { field: 'name', message: 'A backup schedule with that name exists' }
}

interface PgError {
  code?: unknown
  constraint?: unknown
  message?: unknown
}

function uniqueViolation(err: PgError): LucidError {
  const constraint = typeof err.constraint === 'string' ? err.constraint : undefined
  const known = constraint === undefined ? undefined : UNIQUE_CONSTRAINTS[constraint]
  if (known !== undefined)
    return new LucidError('ALREADY_EXISTS', known.message, { details: { field: known.field }, cause: err })
  // CREATE UNIQUE INDEX over duplicate rows (routes/database): the constraint is the new index.
  if (typeof err.message === 'string' && err.message.startsWith('could not create unique index')) {
    return new LucidError(
      'ALREADY_EXISTS',
      `Cannot build unique index ${constraint ?? ''}: duplicate values exist`.replace('  ', ' '),
      { cause: err }
    )
  }
  return new LucidError('ALREADY_EXISTS', undefined, { cause: err })
}

function backupError(err: BackupError): LucidError {
  if (err.code === 'NOT_FOUND') return new LucidError('NOT_FOUND', 'Backup not found', { cause: err })
  return new LucidError('INVALID_REQUEST', err.message, { details: { reason: err.code.toLowerCase() }, cause: err })
}

function volumeError(err: VolumeError): LucidError {
  if (err.code === 'NOT_FOUND') return new LucidError('NOT_FOUND', err.message, { cause: err })
  if (err.code === 'EXISTS') return new LucidError('ALREADY_EXISTS', err.message, { cause: err })
  if (err.code === 'IN_USE') return new LucidError('INVALID_STATE', err.message, { cause: err })
  return new LucidError('INVALID_REQUEST', err.message, { cause: err })
}

const UPSTREAM_FAILURE: Record<UpstreamError['kind'], ErrorKind> = {
  unavailable: 'SERVICE_UNAVAILABLE',
  timeout: 'UPSTREAM_TIMEOUT',
  bad_response: 'BAD_UPSTREAM',
  circuit_open: 'CIRCUIT_OPEN'
}

function upstreamError(err: UpstreamError): LucidError {
  const headers: Record<string, string> =
    err.kind === 'circuit_open' ? { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) } : {}
  return new LucidError(UPSTREAM_FAILURE[err.kind], undefined, {
    details: { upstream: err.upstream },
    headers,
    cause: err
  })
}

/** Turns a domain or database error into its LucidError; returns anything else unchanged. */
export function mapDomainError(err: unknown): unknown {
  if (err instanceof LucidError) return err
  if (err instanceof UpstreamError) return upstreamError(err)
  if (err instanceof BackupError) return backupError(err)
  if (err instanceof VolumeError) return volumeError(err)
  if (typeof err === 'object' && err !== null && (err as PgError).code === '23505')
    return uniqueViolation(err as PgError)
  return wrapDbError(err)
}
