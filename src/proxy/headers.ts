/**
 * Header hygiene for proxying (issue 5): hop-by-hop headers (RFC 9110 section 7.6.1 and those
 * named in Connection) are removed both ways; client-sent identity headers never reach an
 * upstream; upstream fingerprinting headers never reach a client.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { isSpoofable } from '../http/spoofable.js'

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade'
])
const RESPONSE_DROP = new Set([
  'server',
  'x-powered-by',
  'x-aspnet-version',
  'x-aspnetmvc-version',
  'x-runtime',
  'x-generator',
  'via'
])

const NONE: ReadonlySet<string> = new Set()

/** Header names the Connection header lists (hop-by-hop by that listing). */
function connectionListed(headers: Record<string, unknown>): ReadonlySet<string> {
  const c = headers.connection
  // The usual values name no header that is not hop-by-hop already: no set to build (issue 15).
  if (c === undefined || c === 'keep-alive' || c === 'close') return NONE
  const list = Array.isArray(c) ? c.join(',') : typeof c === 'string' ? c : ''
  return new Set(
    list
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
  )
}

export interface ForwardContext {
  requestId: string
  /** The address that connected to the gateway; appended to X-Forwarded-For. */
  peerIp: string
  /** The X-Forwarded-For chain as trusted by `trustProxy` (empty when the peer is untrusted). */
  trustedForwardedFor: string[]
  proto: string
  host: string
  identity?: { userId: string; role: string; token: string }
  /** Forward the client's Authorization header (off unless a route says so). */
  forwardAuthorization: boolean
}

/** Headers to send upstream. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  ctx: ForwardContext
): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  // for…in rather than Object.entries: no array of pairs per request (both are own keys here).
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined) continue
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === 'host') continue
    // An upstream must never see an identity the gateway did not verify.
    if (n.startsWith('x-lucid-')) continue
    // Re-set below from the gateway's own view; method overrides and address claims never pass.
    if (n.startsWith('x-forwarded-') || isSpoofable(n)) continue
    if (n === 'x-request-id') continue
    if ((n === 'authorization' || n === 'x-api-key' || n === 'cookie') && !ctx.forwardAuthorization) continue
    out[n] = value
  }
  out['x-request-id'] = ctx.requestId
  out['x-forwarded-for'] = [...ctx.trustedForwardedFor, ctx.peerIp].join(', ')
  out['x-forwarded-proto'] = ctx.proto
  out['x-forwarded-host'] = ctx.host
  if (ctx.identity !== undefined) {
    out['x-lucid-user-id'] = ctx.identity.userId
    out['x-lucid-user-role'] = ctx.identity.role
    out['x-lucid-identity'] = ctx.identity.token
  }
  return out
}

/**
 * Response-header policy of a proxy route (issue 12 finding 6). An upstream speaks for its own
 * resource, never for the gateway's origin: its cookies reach the client only where the route
 * allows them, and the gateway's CORS, rate-limit and security headers always win over its own.
 */
export interface ResponsePolicy {
  /** Upstream status: Retry-After is relayed only where it means something (3xx, 429, 503). */
  status: number
  /** Relay Set-Cookie (default off: an upstream could set cookies for the gateway's domain). */
  allowSetCookie?: boolean
}

// Owned by the gateway on every response (CONTRACT.md section 5): CORS, limits, security headers.
const GATEWAY_OWNED = new Set([
  'x-request-id',
  'x-upstream-service',
  'ratelimit',
  'ratelimit-policy',
  'strict-transport-security',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'permissions-policy',
  'cross-origin-resource-policy',
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'x-xss-protection',
  'clear-site-data',
  'alt-svc',
  'server-timing'
])

function gatewayOwned(n: string): boolean {
  if (GATEWAY_OWNED.has(n)) return true
  return n.startsWith('access-control-') || n.startsWith('x-ratelimit-') || n.startsWith('ratelimit-')
}

/** Headers to return to the client. */
export function clientResponseHeaders(
  incoming: Record<string, string | string[] | undefined>,
  upstreamName: string,
  policy: ResponsePolicy
): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  const { status } = policy
  const retryAfterMeant = status === 429 || status === 503 || (status >= 300 && status < 400)
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined) continue
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || listed.has(n) || RESPONSE_DROP.has(n) || gatewayOwned(n)) continue
    if ((n === 'set-cookie' || n === 'set-cookie2') && policy.allowSetCookie !== true) continue
    if (n === 'retry-after' && !retryAfterMeant) continue
    if (n === 'content-length' && value === '') continue
    out[n] = value
  }
  out['x-upstream-service'] = upstreamName
  return out
}

/** The handshake headers a WebSocket 101 must carry through (RFC 6455 section 4.2.2). */
const HANDSHAKE = new Set(['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions'])

/**
 * Headers of a 101 Switching Protocols relayed to the client: the handshake headers, then the
 * same policy as any proxied response (the gateway's own security headers are added by the caller).
 */
export function upgradeResponseHeaders(
  incoming: Record<string, string | string[] | undefined>,
  upstreamName: string,
  policy: Omit<ResponsePolicy, 'status'>
): Record<string, string | string[]> {
  const out = clientResponseHeaders(incoming, upstreamName, { ...policy, status: 101 })
  for (const n of HANDSHAKE) {
    const v = incoming[n]
    if (v !== undefined) out[n] = v
  }
  return out
}
