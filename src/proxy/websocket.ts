/**
 * WebSocket upgrades on proxy routes (issue 5), authenticated at the upgrade. Written by hand:
 * undici has no upgrade proxying, and a raw tunnel (HTTP/1.1 Upgrade, then bytes both ways)
 * keeps the frames end to end without a WebSocket library re-framing them. Browsers cannot set
 * Authorization on a WebSocket, so `access_token` in the query is accepted too (and stripped).
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { Config } from '../config.js'
import { roleAtLeast } from '../auth/roles.js'
import { LucidError } from '../errors.js'
import type { Role } from '../crypto/tokens.js'
import type { AdmissionTicket } from '../admission/admission.js'
import type { ProxyRoute } from './route-table.js'
import type { Tracing } from '../tracing/provider.js'
import { API_RESPONSE_HEADERS, requestIdFrom } from '../http/security-headers.js'
import { endWithError } from '../http/raw-answer.js'
import { normalisePath } from '../http/path.js'
import { createHostCheck, hostnameOf } from '../http/hosts.js'
import { stripSpoofable } from '../http/spoofable.js'
import { createClientAddress } from '../http/client-address.js'
import { checkProxyPath } from './path-safety.js'
import { upgradeResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { UpstreamError, type UpstreamClient } from './upstream-client.js'
import { mapDomainError } from '../errors/domain.js'
import { incomingContext } from '../tracing/request.js'
import { startAttempt } from '../tracing/upstream.js'

/** An error answer on the raw socket, with the envelope, request id and security headers. */
function refuse(socket: Duplex, err: LucidError, requestId: string, extra: Record<string, string> = {}): void {
  const { statusCode: status, code, message, details } = err
  endWithError(socket, { status, code, message, details, headers: { ...extra, ...err.headers } }, requestId)
}

/** An upstream failure as its envelope: the one mapping HTTP routes use too (src/errors/domain.ts). */
function upstreamRefusal(err: unknown): LucidError {
  const mapped = mapDomainError(err)
  return mapped instanceof LucidError ? mapped : new LucidError('SERVICE_UNAVAILABLE', undefined, { cause: err })
}

const maxRole = (a: Role, b: Role): Role => (roleAtLeast(a, b) ? a : b)

/** The caller as the tunnel needs it: who, and with which role. */
export interface TunnelUser {
  id: string
  role: Role
}

/**
 * What the tunnel needs from the gateway, as plain functions (src/app.ts wires them from the
 * auth, admission, limiter and upstream plugins), so this core module knows no framework.
 */
export interface WebSocketDeps<U extends TunnelUser = TunnelUser> {
  config: Pick<Readonly<Config>, 'allowedHosts' | 'trustProxy' | 'serverTiming' | 'upstreams'>
  admitUpgrade(ip: string): Promise<AdmissionTicket>
  routes(): readonly ProxyRoute[]
  /** The caller from the credentials in these headers; null without any; rejects when invalid. */
  identify(headers: http.IncomingHttpHeaders): Promise<U | null>
  /** The limiter's decision for the upgrade, as for an HTTP GET of the same path. */
  decideLimit(input: {
    ip: string
    user: U | null
    method: string
    path: string
  }): Promise<{ headers: Record<string, string>; error?: LucidError }>
  upstream(name: string): UpstreamClient | undefined
  identityToken(user: U, audience: string): Promise<string>
  tracing: Tracing | undefined
}

/** Routes WebSocket upgrades of `server` through the tunnel (call once the server exists). */
export function attachWebSocketProxy<U extends TunnelUser>(server: http.Server, deps: WebSocketDeps<U>): void {
  const gate: UpgradeGate = {
    hostAllowed: createHostCheck(deps.config.allowedHosts),
    clientAddress: createClientAddress(deps.config.trustProxy)
  }
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    void tunnel(deps, gate, req, socket, head)
  })
}

interface UpgradeGate {
  hostAllowed: (hostname: string) => boolean
  clientAddress: ReturnType<typeof createClientAddress>
}

/**
 * An upgrade meets what an HTTP request to the same route meets (issue 12 finding 7), in the order
 * of the request pipeline (src/pipeline/request-path.ts): admission (load shedding and the
 * per-client bound), normalised path, spoofable headers stripped, allowed host, authentication,
 * rate limits, then the route's role — its write role, as a WebSocket carries writes as well as
 * reads. Refusals carry the envelope and codes of HTTP errors (upstream failures through
 * `mapDomainError`, src/errors/domain.ts).
 */
async function tunnel<U extends TunnelUser>(
  app: WebSocketDeps<U>,
  gate: UpgradeGate,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer
): Promise<void> {
  const requestId = requestIdFrom(req.headers['x-request-id'])
  socket.on('error', () => socket.destroy())
  const { ip, peerTrusted, forwardedFor } = gate.clientAddress(req)
  let ticket: AdmissionTicket
  try {
    ticket = await app.admitUpgrade(ip)
  } catch (err) {
    return refuse(socket, err instanceof LucidError ? err : new LucidError('SERVICE_UNAVAILABLE'), requestId)
  }
  // The slot covers the handshake, not the tunnel's lifetime (which may be hours).
  let released = false
  const release = () => {
    if (!released) ticket.release()
    released = true
  }
  socket.once('close', release)

  const normal = normalisePath(req.url ?? '/')
  const badPath = (reason: string) => new LucidError('INVALID_REQUEST', `Path not allowed: ${reason}`, { status: 400 })
  if (!normal.ok) {
    release()
    return refuse(socket, badPath(normal.reason), requestId)
  }
  const url = new URL(normal.path + normal.query, 'http://gateway')
  stripSpoofable(req.headers, peerTrusted)
  // As `request.host` gives it: a configured proxy's X-Forwarded-Host (its last entry), else Host.
  const forwardedHost = req.headers['x-forwarded-host']
  const publicHost =
    peerTrusted && typeof forwardedHost === 'string'
      ? (forwardedHost.split(',').pop() ?? '').trim()
      : (req.headers.host ?? '')
  const hostname = hostnameOf(publicHost)
  if (!gate.hostAllowed(hostname)) {
    release()
    const err = new LucidError('INVALID_REQUEST', 'Host not allowed', { status: 400, details: { host: hostname } })
    return refuse(socket, err, requestId)
  }
  const route = app.routes().find((r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`))
  if (route === undefined || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    release()
    return refuse(socket, new LucidError('NOT_FOUND', 'Route not found'), requestId)
  }
  const verdict = checkProxyPath(url.pathname, route.prefix)
  if (!verdict.ok) {
    release()
    return refuse(socket, badPath(verdict.reason), requestId)
  }

  const token = url.searchParams.get('access_token')
  url.searchParams.delete('access_token')
  let user
  try {
    user = await app.identify(token !== null ? { ...req.headers, authorization: `Bearer ${token}` } : req.headers)
  } catch (err) {
    release()
    return refuse(socket, err instanceof LucidError ? err : new LucidError('TOKEN_INVALID'), requestId)
  }
  const limits = await app.decideLimit({ ip, user, method: 'GET', path: url.pathname }).catch(() => ({
    headers: {},
    error: new LucidError('SERVICE_UNAVAILABLE', 'Rate limiter unavailable')
  }))
  if (limits.error !== undefined) {
    release()
    return refuse(socket, limits.error, requestId, limits.headers)
  }
  if (user === null) {
    release()
    return refuse(socket, new LucidError('AUTH_REQUIRED'), requestId, { 'www-authenticate': 'Bearer realm="lucid"' })
  }
  const needed = maxRole(route.readRole, route.writeRole)
  if (!roleAtLeast(user.role, needed)) {
    release()
    return refuse(socket, new LucidError('FORBIDDEN', `Requires role ${needed} or above`), requestId)
  }

  let host
  try {
    host = app.upstream(route.upstream)!.acquireHost()
  } catch (err) {
    release()
    return refuse(socket, upstreamRefusal(err), requestId)
  }
  const headers = upstreamRequestHeaders(req.headers, {
    requestId,
    peerIp: req.socket.remoteAddress ?? '',
    trustedForwardedFor: forwardedFor,
    proto: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
    host: publicHost,
    identity: { userId: user.id, role: user.role, token: await app.identityToken(user, route.upstream) },
    forwardAuthorization: route.forwardAuthorization
  })
  // The upgrade handshake headers are hop-by-hop but must reach the upstream for this one hop.
  headers.connection = 'Upgrade'
  headers.upgrade = req.headers.upgrade as string
  // The Server-Timing secret never leaves the gateway (upgrades bypass the HTTP hooks that strip it).
  if (app.config.serverTiming.mode === 'header') delete headers[app.config.serverTiming.header]
  const path =
    (route.rewritePrefix !== undefined ? route.rewritePrefix + url.pathname.slice(route.prefix.length) : url.pathname) +
    (url.search === '?' ? '' : url.search)
  // Traced: a CLIENT span for the handshake, child of the client's traceparent, whose own context
  // the upstream receives. The tunnel after the 101 is not a span: it may stay open for hours.
  const tracing = app.tracing
  const info = { upstream: route.upstream, origin: host.origin, method: 'GET', path, attempt: 1, breaker: host.state }
  const attempt = tracing && startAttempt(tracing, info, headers, incomingContext(tracing, req.headers))
  const upstreamReq = http.request(`${host.origin}${path}`, {
    method: 'GET',
    headers: attempt?.headers ?? headers,
    timeout: app.config.upstreams.connectTimeoutMs
  })
  upstreamReq.on('upgrade', (res, upstreamSocket, upstreamHead) => {
    host.done(true)
    attempt?.responded(101)
    release()
    // The 101 passes the same response-header policy as any proxied answer (issue 12 finding 6).
    const relayed = upgradeResponseHeaders(res.headers, route.upstream, { allowSetCookie: route.allowSetCookie })
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade']
    for (const [name, value] of Object.entries(relayed)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`)
    }
    const own = { ...API_RESPONSE_HEADERS, ...limits.headers }
    for (const [name, value] of Object.entries(own)) lines.push(`${name}: ${value}`)
    lines.push(`X-Request-ID: ${requestId}`)
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (upstreamHead.length > 0) socket.write(upstreamHead)
    if (head.length > 0) upstreamSocket.write(head)
    upstreamSocket.on('error', () => socket.destroy())
    socket.on('close', () => upstreamSocket.destroy())
    upstreamSocket.on('close', () => socket.destroy())
    upstreamSocket.pipe(socket).pipe(upstreamSocket)
  })
  upstreamReq.on('response', (res) => {
    // The upstream declined the upgrade: relay its answer.
    release()
    host.done(res.statusCode !== undefined && res.statusCode < 500)
    attempt?.failed('upgrade_refused')
    const err = new LucidError('BAD_UPSTREAM', `Upstream refused the WebSocket upgrade (${res.statusCode})`, {
      details: { upstream: route.upstream }
    })
    refuse(socket, err, requestId)
    res.resume()
  })
  let timedOut = false
  upstreamReq.on('timeout', () => {
    timedOut = true
    upstreamReq.destroy(new Error('connect timeout'))
  })
  upstreamReq.on('error', (cause) => {
    release()
    host.done(false)
    const kind = timedOut ? 'timeout' : 'unavailable'
    attempt?.failed(kind)
    if (!socket.destroyed)
      refuse(
        socket,
        upstreamRefusal(new UpstreamError(kind, route.upstream, `${route.upstream}: ${kind}`, 0, { cause })),
        requestId
      )
  })
  socket.on('close', () => upstreamReq.destroy())
  upstreamReq.end()
}
