/**
 * The response contract test (issue 13): every response a test's gateway sends is checked against
 * the gateway's own /openapi.json — status, content type and body — so a route cannot drift from
 * its documentation. buildTestApp attaches it to every app; a violation fails the test that got
 * it (when its app closes) with the route, the status and what mismatched.
 *
 * Responses that came from an upstream through a proxy route pass through unchanged and are the
 * upstream's business; the gateway's own errors on those routes must still be the envelope.
 */
import { appendFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { errorCodeOf } from '../../src/plugins/errors.js'

type Json = Record<string, unknown>
interface Operation {
  operationId?: string
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>
  'x-lucid-passthrough'?: string
}

const DOC_ID = 'openapi'
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json')

/** Local refs (#/components/...) made absolute, so schemas compile apart from the document. */
function absoluteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(absoluteRefs)
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : absoluteRefs(v)
    ])
  )
}

export interface ContractChecker {
  /** Violations so far, one precise line each. */
  readonly violations: string[]
  /** Responses checked against a documented operation (a test asserts the checker is alive). */
  readonly checked: number
}

/** Called with each violation and the id of the request (X-Request-ID) that got it. */
export type ViolationSink = (requestId: string, line: string) => void

export function attachContractValidator(
  app: FastifyInstance,
  sink: ViolationSink = () => undefined,
  report = process.env.CONTRACT_REPORT
): ContractChecker {
  const violations: string[] = []
  let checked = 0
  let doc: { paths: Record<string, Record<string, Operation>>; components?: Json } | undefined
  let ajv: Ajv2020 | undefined
  const compiled = new Map<string, ValidateFunction>()

  const document = () => {
    if (doc === undefined && typeof (app as { swagger?: unknown }).swagger === 'function') {
      doc = (app as unknown as { swagger(): typeof doc }).swagger()
      ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, formats: { binary: true } })
      addFormats.default(ajv)
      ajv.addSchema({ $id: DOC_ID, components: absoluteRefs(doc?.components ?? {}) })
    }
    return doc
  }
  const validator = (key: string, schema: Json) => {
    let v = compiled.get(key)
    if (v === undefined) {
      v = (ajv as Ajv2020).compile(absoluteRefs(schema) as Json)
      compiled.set(key, v)
    }
    return v
  }
  const envelope = () => validator('#envelope', { $ref: '#/components/schemas/ErrorEnvelope' })

  function check(request: FastifyRequest, reply: FastifyReply, payload: unknown): string | undefined {
    const status = reply.statusCode
    const type = String(reply.getHeader('content-type') ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase()
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined
    const empty = payload === undefined || payload === null || text === ''
    const d = document()
    if (d === undefined) return undefined
    const fromGateway = errorCodeOf(request) !== undefined
    const gatewayError = (): string | undefined => {
      if (!isJson(type)) return `a gateway error sent as ${type || 'no content type'}, not application/json`
      if (text === undefined) return undefined
      return envelope()(JSON.parse(text))
        ? undefined
        : `a gateway error that is not the ErrorEnvelope: ${ajv?.errorsText(envelope().errors)}`
    }
    const template = request.routeOptions.url
    const op =
      template === undefined
        ? undefined
        : d.paths[template.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[
            (request.method === 'HEAD' ? 'GET' : request.method).toLowerCase()
          ]
    // Routes a test registers for itself (extraRoutes) have no schema: not part of the API.
    if (op === undefined || request.routeOptions.schema === undefined) {
      // Unknown paths, wrong methods, hidden routes (docs assets, proxy catch-alls): only the
      // gateway's own errors are its promise there.
      return fromGateway || (template === undefined && status >= 400) ? gatewayError() : undefined
    }
    checked++
    if (op['x-lucid-passthrough'] !== undefined && !fromGateway) return undefined
    const response = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default
    if (response === undefined)
      return `status ${status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`
    if (fromGateway && status >= 400) {
      const problem = gatewayError()
      if (problem !== undefined) return problem
    }
    // 204 and 304 never carry a body on the wire (Node drops it), whatever the handler passed.
    if (status === 204 || status === 304)
      return response.content === undefined ? undefined : `a documented ${status} body`
    if (response.content === undefined)
      return empty ? undefined : `a ${status} body (${type}) where the document says there is none`
    const media = response.content[type] ?? response.content[`${type.split('/')[0]}/*`] ?? response.content['*/*']
    if (media === undefined)
      return `content type ${type || '(none)'} is not documented for ${status} (documented: ${Object.keys(response.content).join(', ')})`
    if (text === undefined || media.schema === undefined || !isJson(type)) return undefined
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return `a ${type} body that is not JSON: ${text.slice(0, 80)}`
    }
    const v = validator(`${template} ${request.method} ${status} ${type}`, media.schema)
    return v(body)
      ? undefined
      : `body does not match the documented ${status} ${type} schema: ${ajv?.errorsText(v.errors, { separator: '; ' })}`
  }

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'OPTIONS') return payload
    let problem: string | undefined
    try {
      problem = check(request, reply, payload)
    } catch (err) {
      problem = `could not be checked: ${(err as Error).message}`
    }
    if (problem !== undefined) {
      const code = typeof payload === 'string' ? /"code":"(LUCID_ERR_\d{4})"/.exec(payload)?.[1] : undefined
      const line = `contract: ${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} → ${reply.statusCode}${code === undefined ? '' : ` ${code}`}: ${problem}`
      violations.push(line)
      sink(request.id, line)
      if (report !== undefined)
        appendFileSync(
          report,
          `${JSON.stringify({ line, url: request.url, body: typeof payload === 'string' ? payload.slice(0, 300) : undefined })}\n`
        )
    }
    return payload
  })
  return {
    violations,
    get checked() {
      return checked
    }
  }
}
