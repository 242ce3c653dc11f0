/**
 * Request ids, trusted hosts and the security headers of CONTRACT.md section 5, on every
 * response including errors and 404s (onSend runs for those too).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { LucidError } from '../errors.js'
import { refusedPath } from '../http/path.js'
import { createHostCheck } from '../http/hosts.js'
import { stripSpoofable } from '../http/spoofable.js'
import { createProxyTrust } from '../http/client-address.js'
import type { TrustProxy } from '../config.js'

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** Fastify `genReqId`: echo a well-formed X-Request-ID, otherwise make a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : crypto.randomUUID()
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'geolocation=(), microphone=(), camera=(), payment=(), usb=()',
  'cross-origin-resource-policy': 'same-site'
}
export const API_CSP = "default-src 'none'; frame-ancestors 'none'"
// The docs page loads its own scripts, styles and images; nothing from elsewhere.
export const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// The operator dashboard (issue 18): its own scripts and styles only, nothing inline, and it may
// talk only to this origin; no frames, no forms posting elsewhere, no base-URI tricks.
export const ADMIN_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export interface HttpHygieneOptions {
  allowedHosts: readonly string[]
  trustProxy: TrustProxy
  docsPrefix: string
}

async function httpHygiene(app: FastifyInstance, opts: HttpHygieneOptions): Promise<void> {
  const hostAllowed = createHostCheck(opts.allowedHosts)
  const trusted = createProxyTrust(opts.trustProxy)

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    // A path `rewriteUrl` could not normalise safely (src/http/path.ts) is refused before any decision.
    const badPath = refusedPath(request.raw)
    if (badPath !== undefined) throw new LucidError('INVALID_REQUEST', `Path not allowed: ${badPath}`, { status: 400 })
    // Method overrides, client-address claims, X-Forwarded-* of untrusted peers (issue 12 finding 7).
    stripSpoofable(request.raw.headers, trusted(request.raw.socket?.remoteAddress ?? '', 0))
    const host = (request.hostname ?? '').toLowerCase()
    if (!hostAllowed(host)) {
      throw new LucidError('INVALID_REQUEST', 'Host not allowed', { status: 400, details: { host } })
    }
  })

  // While draining, each finished response closes its keep-alive connection, so shutdown does not
  // wait for idle sockets to time out (KEEP_ALIVE_TIMEOUT_MS) after the last in-flight request.
  let draining = false
  app.addHook('preClose', async () => {
    draining = true
  })

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id)
    if (draining) reply.header('connection', 'close')
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v)
    if (!reply.hasHeader('content-security-policy')) {
      const docs = request.url === opts.docsPrefix || request.url.startsWith(`${opts.docsPrefix}/`)
      reply.header('content-security-policy', docs ? DOCS_CSP : API_CSP)
    }
    return payload
  })
}

export default fp(httpHygiene, { name: 'lucid-http-hygiene' })
