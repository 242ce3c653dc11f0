/**
 * Derives what the OpenAPI document says about a route from what the route does (issue 13), so
 * the two cannot drift: security from the route's auth guards, error statuses from its guards and
 * inputs (plus `schema.errors` for the rest), an operationId from its method and path, and
 * parameters with a default documented as optional. Only the document changes: the schemas
 * Fastify validates and serializes with stay as the routes declare them.
 */
import { describeGuard, type Guard } from './auth.js'

type Schema = Record<string, unknown>

export interface DocumentedRoute {
  method: string | string[]
  url: string
  schema?: Schema
  onRequest?: unknown
  config?: { proxyRoute?: string; rateLimit?: boolean }
}

/** On proxy operations: the upstream's responses pass through unchanged; names the upstream. */
export const PASSTHROUGH = 'x-lucid-passthrough'
/** Internal: a body that may be left out, turned into `requestBody.required: false`. */
const OPTIONAL_BODY = 'x-lucid-optional-body'

const ERROR_REF = { $ref: 'ErrorEnvelope' }
const ERRORS: Record<number, string> = {
  400: 'Malformed request: invalid JSON (LUCID_ERR_1009), JSON nested deeper than 10, a Host that is not allowed, or a body that does not match its Content-Length (LUCID_ERR_1001)',
  401: 'Authentication required, or the token / API key is invalid, expired or revoked (LUCID_ERR_2001–2010)',
  403: 'Your role is too low for this operation (LUCID_ERR_2004)',
  404: 'Not found, or not yours: other users’ resources are always 404 (LUCID_ERR_4001)',
  408: 'The request body arrived too slowly (below the minimum rate or past its deadline; LUCID_ERR_1011)',
  409: 'Conflict with the current state: already exists (LUCID_ERR_4002), invalid session state (LUCID_ERR_4007) or a limit reached',
  413: 'Request body too large (LUCID_ERR_1010, or 4005/4006 for session and chunk limits)',
  415: 'Unsupported Content-Type (LUCID_ERR_1001)',
  422: 'Validation failed (LUCID_ERR_1001, `details.validation_errors`) or a malformed UUID in the path (LUCID_ERR_1005)',
  429: 'Rate limit exceeded (LUCID_ERR_3001, 3004 for bandwidth); see Retry-After',
  500: 'Internal error (LUCID_ERR_5001); the message is generic, the log has the detail',
  502: 'Bad response from an upstream service (LUCID_ERR_5003)',
  503: 'Service unavailable: overloaded, a dependency down (LUCID_ERR_5002, 5008) or an upstream circuit open (LUCID_ERR_5007); see Retry-After',
  504: 'An upstream service timed out (LUCID_ERR_5006)',
  507: 'The chunk store is full; nothing was stored (LUCID_ERR_5009); see Retry-After'
}
const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait before retrying', type: 'integer' } }
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

const words = (s: string) => s.split(/[^A-Za-z0-9]+/).filter(Boolean)
const pascal = (s: string) =>
  words(s)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')

/**
 * `GET /api/v1/sessions/:session_id/chunks` → `getSessionsChunks`; a path ending in a parameter
 * adds `By<Param>` (`deleteSessionsBySessionId`). Stable as long as the route is.
 */
export function deriveOperationId(method: string, url: string): string {
  const parts = url
    .replace(/^\/api\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
  const literal = parts
    .filter((p) => !p.startsWith(':') && p !== '*')
    .map(pascal)
    .join('')
  const last = parts[parts.length - 1]
  const by = last?.startsWith(':') === true ? `By${pascal(last.slice(1))}` : ''
  return `${method.toLowerCase()}${literal || 'Root'}${by}`
}

/** A copy of a JSON schema in which properties that have a default are not `required`. */
export function optionalDefaults(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema
  const s = schema as Schema
  const props = s.properties as Record<string, Schema> | undefined
  if (props === undefined) return s
  const properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, optionalDefaults(v)]))
  const required = Array.isArray(s.required)
    ? (s.required as string[]).filter((k) => props[k]?.default === undefined)
    : undefined
  return { ...s, properties, ...(required !== undefined ? { required } : {}) }
}

function guardsOf(route: DocumentedRoute): Guard[] {
  const hooks = Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
  return hooks.map(describeGuard).filter((g): g is Guard => g !== undefined)
}

const errorResponse = (status: number, schema: Schema = ERROR_REF) => ({
  description: ERRORS[status] ?? 'Error',
  content: { 'application/json': { schema } },
  ...(status === 429 || status === 503 || status === 507 ? { headers: RETRY_AFTER } : {})
})

/** Error statuses a route can answer, from what it does; `schema.errors` adds the rest. */
function errorStatuses(
  route: DocumentedRoute,
  method: string,
  schema: Schema,
  guards: Guard[],
  extra: number[]
): number[] {
  const out = new Set<number>([400, 500, ...extra])
  if (route.config?.rateLimit !== false) out.add(429).add(503)
  if (guards.some((g) => g.kind === 'authenticate')) out.add(401)
  if (guards.some((g) => g.kind === 'role')) out.add(403)
  if (schema.params !== undefined || route.url.includes(':')) out.add(404).add(422)
  if (schema.body !== undefined || schema.querystring !== undefined || schema.headers !== undefined) out.add(422)
  if (BODY_METHODS.has(method)) out.add(408).add(413).add(415)
  return [...out].sort((a, b) => a - b)
}

/** Proxied operations: every status may be the upstream's own answer, passed through. */
function proxyResponses(method: string, success: Record<string, unknown>, upstream: string) {
  const either = { anyOf: [ERROR_REF, { description: `the ${upstream} service's own body` }] }
  const gateway = [400, 401, 403, 408, 413, 429, 500, 502, 503, 504, ...(method === 'POST' ? [409, 422] : [])]
  const out: Record<string, unknown> = { ...success }
  for (const status of gateway.sort((a, b) => a - b)) {
    const r = errorResponse(status, either)
    out[status] = {
      ...r,
      description: `From the gateway (ErrorEnvelope): ${r.description}. Or ${upstream}'s own ${status} response, passed through unchanged.`
    }
  }
  out.default = {
    description: `Any other status: ${upstream}'s response, passed through unchanged`,
    content: { '*/*': { schema: {} } }
  }
  return out
}

/** Success responses in `content` form, so `produces` (HTML, bytes) never applies to errors. */
function successResponses(response: Schema, produces: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [status, r] of Object.entries(response)) {
    if (/^[45]xx$/i.test(status)) continue
    const s = r as Schema
    if (produces === undefined || s.content !== undefined || s.type === 'null') out[status] = s
    else
      out[status] = {
        description: s.description ?? 'Success',
        content: Object.fromEntries(produces.map((p) => [p, { schema: s }]))
      }
  }
  return out
}

/** The @fastify/swagger `transform`: a route's schema as the document should show it. */
export function documentRoute(
  route: DocumentedRoute,
  upstreamOf: (prefix: string) => string | undefined
): { schema?: Schema; url: string } {
  const schema = route.schema
  if (schema === undefined || schema.hide === true) return { schema, url: route.url }
  const method = Array.isArray(route.method) ? route.method[0] : route.method
  const guards = guardsOf(route)
  const { errors, produces, ...doc } = schema as Schema & { produces?: string[]; errors?: number[] }
  if (doc.security === undefined) {
    const authed = guards.some((g) => g.kind === 'authenticate')
    const optional = guards.some((g) => g.kind === 'optional')
    doc.security = authed
      ? [{ bearerAuth: [] }, { apiKeyAuth: [] }]
      : optional
        ? [{ bearerAuth: [] }, { apiKeyAuth: [] }, {}]
        : []
  }
  const role = guards.find((g): g is Extract<Guard, { kind: 'role' }> => g.kind === 'role')
  if (role !== undefined)
    doc.description = [doc.description, `Requires role \`${role.role}\` or above.`].filter(Boolean).join('\n\n')
  doc.operationId ??= deriveOperationId(method, route.url)
  for (const part of ['querystring', 'params', 'headers'] as const)
    if (doc[part] !== undefined) doc[part] = optionalDefaults(doc[part])
  if (doc.body !== undefined) {
    const body = doc.body as Schema
    doc.body = optionalDefaults(body)
    if (doc.bodyOptional === true) doc[OPTIONAL_BODY] = true
  } else if (doc.documentedBody !== undefined) {
    doc.body = doc.documentedBody
  } else if (BODY_METHODS.has(method) && route.config?.proxyRoute === undefined) {
    // Nothing to send; a validating client or proxy must still accept that a body may come.
    doc.body = { type: 'object', description: 'No body is needed; a JSON object sent anyway is ignored.' }
    doc[OPTIONAL_BODY] = true
  }
  delete doc.bodyOptional
  delete doc.documentedBody
  const success = {
    ...successResponses((doc.response as Schema | undefined) ?? {}, produces),
    ...((doc.documentedResponses as Schema | undefined) ?? {})
  }
  delete doc.documentedResponses
  const upstream = route.config?.proxyRoute !== undefined ? upstreamOf(route.config.proxyRoute) : undefined
  if (upstream !== undefined) {
    doc.response = proxyResponses(method, success, upstream)
    doc[PASSTHROUGH] = upstream
    doc.description = [
      doc.description,
      `Proxied to **${upstream}**: its responses pass through unchanged; ErrorEnvelope errors come from the gateway.`
    ]
      .filter(Boolean)
      .join('\n\n')
  } else {
    const statuses = errorStatuses(route, method, doc, guards, errors ?? []).filter((s) => success[s] === undefined)
    doc.response = { ...success, ...Object.fromEntries(statuses.map((s) => [s, errorResponse(s)])) }
  }
  return { schema: doc, url: route.url }
}

/**
 * TypeBox writes a set of literals as `anyOf: [{const: a}, {const: b}]`; tools show and generate
 * far better from one `enum` (Swagger UI offers a select, generated clients a union type).
 */
function collapseEnums(node: unknown): void {
  if (node === null || typeof node !== 'object') return
  if (Array.isArray(node)) return node.forEach(collapseEnums)
  const s = node as Schema
  const branches = s.anyOf as Schema[] | undefined
  const single = (b: Schema) =>
    Array.isArray(b.enum) && b.enum.length === 1 && Object.keys(b).every((k) => k === 'type' || k === 'enum')
  if (
    Array.isArray(branches) &&
    branches.length > 1 &&
    branches.every(single) &&
    new Set(branches.map((b) => b.type)).size === 1
  ) {
    delete s.anyOf
    s.type = branches[0].type
    s.enum = branches.map((b) => (b.enum as unknown[])[0])
  }
  for (const v of Object.values(s)) collapseEnums(v)
}

/** The @fastify/swagger `transformObject`: document-wide fixes after every route is in. */
const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' }

export function finishDocument(doc: Schema): Schema {
  collapseEnums(doc)
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Schema>>
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      for (const [status, r] of Object.entries(op.responses as Record<string, Schema>)) {
        if (r.description === 'Default Response') r.description = SUCCESS[status] ?? 'Success'
      }
      if (op[OPTIONAL_BODY] === true) {
        ;(op.requestBody as Schema).required = false
        delete op[OPTIONAL_BODY]
      }
    }
  }
  return doc
}
