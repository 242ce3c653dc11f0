/**
 * WebSocket upgrades on proxy routes (issue 5), authenticated at the upgrade. Written by hand:
 * undici has no upgrade proxying, and a raw tunnel (HTTP/1.1 Upgrade, then bytes both ways)
 * keeps the frames end to end without a WebSocket library re-framing them. Browsers cannot set
 * Authorization on a WebSocket, so `access_token` in the query is accepted too (and stripped).
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { roleAtLeast } from '../plugins/auth.js'
import { LucidError } from '../errors.js'
import { checkProxyPath } from './path-safety.js'
import { upstreamRequestHeaders } from './headers.js'
import { UpstreamError } from './upstream-client.js'
import { incomingContext } from '../tracing/request.js'
import { startAttempt } from '../tracing/upstream.js'

function refuse(socket: Duplex, status: number, code: string, message: string, requestId: string): void {
  const body = JSON.stringify({ error: { code, message, details: {}, request_id: requestId, timestamp: new Date().toISOString(), service: 'api-gateway', version: 'v1' } })
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`)
}

export function attachWebSocketProxy(app: FastifyInstance): void {
  app.addHook('onReady', async () => {
    app.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      void tunnel(app, req, socket, head)
    })
  })
}

async function tunnel(app: FastifyInstance, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const requestId = crypto.randomUUID()
  socket.on('error', () => socket.destroy())
  const url = new URL(req.url ?? '/', 'http://gateway')
  const route = app.proxyTable.routes.find((r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`))
  if (route === undefined || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return refuse(socket, 404, 'LUCID_ERR_4001', 'Route not found', requestId)
  const verdict = checkProxyPath(req.url ?? '/', route.prefix)
  if (!verdict.ok) return refuse(socket, 400, 'LUCID_ERR_1001', `Path not allowed: ${verdict.reason}`, requestId)

  const token = url.searchParams.get('access_token')
  url.searchParams.delete('access_token')
  let user
  try {
    user = await app.identifyHeaders(token !== null ? { ...req.headers, authorization: `Bearer ${token}` } : req.headers)
  } catch (err) {
    const e = err instanceof LucidError ? err : new LucidError('TOKEN_INVALID')
    return refuse(socket, e.statusCode, e.code, e.message, requestId)
  }
  if (user === null) return refuse(socket, 401, 'LUCID_ERR_2001', 'Authentication required', requestId)
  if (!roleAtLeast(user.role, route.readRole)) return refuse(socket, 403, 'LUCID_ERR_2004', 'Insufficient permissions', requestId)

  let host
  try {
    host = app.upstreams.get(route.upstream)!.acquireHost()
  } catch (err) {
    const circuit = err instanceof UpstreamError && err.kind === 'circuit_open'
    return refuse(socket, 503, circuit ? 'LUCID_ERR_5007' : 'LUCID_ERR_5008', circuit ? 'Upstream service circuit is open' : 'Service unavailable', requestId)
  }
  const headers = upstreamRequestHeaders(req.headers, {
    requestId,
    peerIp: req.socket.remoteAddress ?? '',
    trustedForwardedFor: [],
    proto: 'http',
    host: req.headers.host ?? '',
    identity: { userId: user.id, role: user.role, token: await app.identityToken(user, route.upstream) },
    forwardAuthorization: route.forwardAuthorization
  })
  // The upgrade handshake headers are hop-by-hop but must reach the upstream for this one hop.
  headers.connection = 'Upgrade'
  headers.upgrade = req.headers.upgrade as string
  // The Server-Timing secret never leaves the gateway (upgrades bypass the HTTP hooks that strip it).
  if (app.config.serverTiming.mode === 'header') delete headers[app.config.serverTiming.header]
  const path = (route.rewritePrefix !== undefined ? route.rewritePrefix + url.pathname.slice(route.prefix.length) : url.pathname) + (url.search === '?' ? '' : url.search)
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
    const lines = [`HTTP/1.1 101 Switching Protocols`]
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      const name = res.rawHeaders[i].toLowerCase()
      if (name === 'server' || name === 'x-powered-by') continue
      lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`)
    }
    lines.push(`X-Upstream-Service: ${route.upstream}`, `X-Request-ID: ${requestId}`)
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
    host.done(res.statusCode !== undefined && res.statusCode < 500)
    attempt?.failed('upgrade_refused')
    refuse(socket, 502, 'LUCID_ERR_5003', `Upstream refused the WebSocket upgrade (${res.statusCode})`, requestId)
    res.resume()
  })
  upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('connect timeout')))
  upstreamReq.on('error', () => {
    host.done(false)
    attempt?.failed('unavailable')
    if (!socket.destroyed) refuse(socket, 503, 'LUCID_ERR_5008', 'Service unavailable', requestId)
  })
  socket.on('close', () => upstreamReq.destroy())
  upstreamReq.end()
}
