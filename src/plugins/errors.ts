/**
 * Turns every failure, from every layer, into the envelope of CONTRACT.md section 3: validation,
 * parsing, unknown routes (404) and wrong methods (405 with Allow), 5xx with a generic message.
 */
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LucidError, envelope, type ValidationIssue } from '../errors.js'
import { mapDomainError as wrapDbError } from '../errors/domain.js'
import { StateStoreUnavailableError } from '../stores/state-store.js'
import { API_RESPONSE_HEADERS } from '../http/security-headers.js'
import { boundNumbers } from '../http/bounded-numbers.js'

interface AjvIssue {
  instancePath?: string
  schemaPath?: string
  keyword?: string
  message?: string
  params?: Record<string, unknown>
}

/** The values a failed `anyOf` of literals allows, or undefined when its branches are not all literals. */
function allowedValues(branches: AjvIssue[]): unknown[] | undefined {
  const values: unknown[] = []
  for (const b of branches) {
    if (b.keyword === 'anyOf') continue
    if (b.keyword === 'const') values.push(b.params?.allowedValue)
    else if (b.keyword === 'enum') values.push(...((b.params?.allowedValues as unknown[] | undefined) ?? []))
    else if (b.keyword === 'type' && b.params?.type === 'null') values.push(null)
    else return undefined
  }
  return values
}

/**
 * A failed `anyOf` comes with one error per branch (five "must be equal to constant" for a wrong
 * wallet_type); it is reported once, naming what is allowed (issue 13).
 */
function collapseAnyOf(validation: AjvIssue[]): AjvIssue[] {
  const anyOfs = validation.filter((v) => v.keyword === 'anyOf' && v.schemaPath !== undefined)
  if (anyOfs.length === 0) return validation
  const within = (v: AjvIssue, a: AjvIssue) =>
    v !== a &&
    (v.instancePath ?? '') === (a.instancePath ?? '') &&
    v.schemaPath?.startsWith(`${a.schemaPath}/`) === true
  const outer = anyOfs.filter((a) => !anyOfs.some((o) => within(a, o)))
  const kept = validation.filter((v) => !outer.some((a) => v === a || within(v, a)))
  for (const a of outer) {
    const branches = validation.filter((v) => within(v, a))
    const allowed = allowedValues(branches)
    const message =
      allowed !== undefined
        ? `must be one of: ${allowed.map((x) => (x === null ? 'null' : String(x))).join(', ')}`
        : `is invalid: ${[...new Set(branches.filter((b) => b.keyword !== 'anyOf').map((b) => b.message))].join('; ')}`
    kept.push({ instancePath: a.instancePath, keyword: 'anyOf', message })
  }
  return kept
}

function toIssues(validation: AjvIssue[]): ValidationIssue[] {
  return collapseAnyOf(validation).map((v) => {
    let field = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')
    const missing = v.params?.missingProperty
    const extra = v.params?.additionalProperty
    if (typeof missing === 'string') field = field ? `${field}.${missing}` : missing
    if (typeof extra === 'string') field = field ? `${field}.${extra}` : extra
    const message = typeof extra === 'string' ? 'unknown field' : (v.message ?? 'is invalid')
    return { field: field || '(body)', message }
  })
}

/** Maps any thrown value to a LucidError; unknown errors become 500/5001. */
export function toLucidError(err: unknown): LucidError {
  if (err instanceof LucidError) return err
  if (err instanceof StateStoreUnavailableError) {
    return new LucidError('SERVICE_UNAVAILABLE', 'Shared state store unavailable', { cause: err })
  }
  const wrapped = wrapDbError(err)
  if (wrapped instanceof LucidError) return wrapped
  const e = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string }
  if (Array.isArray(e.validation)) {
    const issues = toIssues(e.validation)
    if (
      e.validationContext === 'params' &&
      e.validation.some((v) => v.keyword === 'format' && v.params?.format === 'uuid')
    ) {
      return new LucidError('INVALID_UUID', 'Malformed UUID in path', { details: { validation_errors: issues } })
    }
    return new LucidError('INVALID_REQUEST', 'Request validation failed', { details: { validation_errors: issues } })
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LucidError('INVALID_REQUEST', 'Unsupported content type', { status: 415 })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LucidError('REQUEST_TOO_LARGE')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LucidError('INVALID_JSON', 'Body cannot be empty when content-type is application/json')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new LucidError('INVALID_JSON')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new LucidError('INVALID_REQUEST', 'Content-Length does not match the body', { status: 400 })
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400)
    return new LucidError('INVALID_JSON')
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  if (status === 413) return new LucidError('REQUEST_TOO_LARGE')
  if (status === 415) return new LucidError('INVALID_REQUEST', 'Unsupported content type', { status: 415 })
  if (status >= 400 && status < 500) return new LucidError('INVALID_REQUEST', e.message, { status })
  return new LucidError('INTERNAL', undefined, { cause: err })
}

const errorCodes = new WeakMap<FastifyRequest, string>()

/** The envelope code a request was answered with, if it failed (for the errors-by-code metric). */
export function errorCodeOf(request: FastifyRequest): string | undefined {
  return errorCodes.get(request)
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: LucidError): FastifyReply {
  errorCodes.set(request, err.code)
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v)
  return reply
    .code(err.statusCode)
    .type('application/json; charset=utf-8')
    .send(envelope(request.id, err.code, err.message, err.details))
}

/**
 * Fastify `frameworkErrors`: what the router refuses before any hook runs (a URL it cannot decode,
 * an over-long parameter). The reply skips the onSend hooks, so the security headers are set here;
 * the message never echoes the URL (issue 12 finding 10).
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400
  const message = status === 414 ? 'Path parameter too long' : 'Malformed request URL'
  reply.header('x-request-id', request.id)
  reply.headers(API_RESPONSE_HEADERS)
  void sendError(request, reply, new LucidError('INVALID_REQUEST', message, { status }))
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  // A shadow router of every registered route, to tell "no such path" (404) from "path exists,
  // method does not" (405 + Allow), which Fastify's router does not distinguish.
  const shadow = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true })
  app.addHook('onRoute', (route) => {
    // Request schemas only: every numeric input gets a bound before the validator is compiled.
    const schema = route.schema as Record<string, unknown> | undefined
    for (const part of ['querystring', 'params', 'headers', 'body']) {
      if (schema?.[part] !== undefined) boundNumbers(schema[part])
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const m of methods) {
      try {
        shadow.on(m as HTTPMethod, route.url, () => undefined)
      } catch {
        // Duplicate registrations (e.g. HEAD added for GET) are fine to ignore.
      }
    }
  })

  app.setErrorHandler((error, request, reply) => {
    const err = toLucidError(error)
    if (err.statusCode >= 500) {
      request.log.error({ err: err.cause ?? error, code: err.code }, 'request failed')
    } else if (err.statusCode !== 404) {
      request.log.info({ code: err.code, reason: err.message }, 'request rejected')
    }
    return sendError(request, reply, err)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const allowed: string[] = []
    for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as HTTPMethod[]) {
      if (m !== request.method && shadow.find(m, path) !== null) allowed.push(m)
    }
    if (allowed.length > 0) {
      return sendError(
        request,
        reply,
        new LucidError('NOT_ALLOWED', `Method ${request.method} not allowed`, {
          headers: { allow: allowed.join(', ') },
          details: { allowed_methods: allowed }
        })
      )
    }
    return sendError(request, reply, new LucidError('NOT_FOUND', 'Route not found'))
  })
}

export default fp(errorsPlugin, { name: 'lucid-errors' })
