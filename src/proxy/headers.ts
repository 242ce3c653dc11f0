/**
 * Header hygiene for proxying (issue 5): hop-by-hop headers (RFC 9110 section 7.6.1 and those
 * named in Connection) are removed both ways; client-sent identity headers never reach an
 * upstream; upstream fingerprinting headers never reach a client.
 */
import type { IncomingHttpHeaders } from 'node:http'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
const RESPONSE_DROP = new Set(['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-generator', 'via'])

function connectionListed(headers: Record<string, unknown>): Set<string> {
  const c = headers.connection
  const list = Array.isArray(c) ? c.join(',') : typeof c === 'string' ? c : ''
  return new Set(list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
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
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, ctx: ForwardContext): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === 'host') continue
    // An upstream must never see an identity the gateway did not verify.
    if (n.startsWith('x-lucid-')) continue
    if (n.startsWith('x-forwarded-') || n === 'forwarded') continue
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

/** Headers to return to the client. */
export function clientResponseHeaders(incoming: Record<string, string | string[] | undefined>, upstreamName: string): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || listed.has(n) || RESPONSE_DROP.has(n)) continue
    // The gateway sets its own request id, security headers and rate-limit headers.
    if (n === 'x-request-id' || n === 'content-length' && value === '') continue
    out[n] = value
  }
  out['x-upstream-service'] = upstreamName
  return out
}
