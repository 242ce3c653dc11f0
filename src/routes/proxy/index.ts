/**
 * Proxy routes generated from the route table (issue 5): `/api/v1/chain/*` → lucid_blocks,
 * `/api/v1/wallets/*` → the TRON payment service, `/api/v1/nodes/*` → node management.
 * Bodies stream both ways (never buffered) except POSTs carrying an Idempotency-Key, which are
 * buffered up to 1 MiB so they can be fingerprinted, replayed and retried.
 */
import { Transform, type Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import { roleAtLeast } from '../../auth/roles.js'
import { CancelSignal } from '../../proxy/cancel.js'
import { checkProxyPath } from '../../proxy/path-safety.js'
import { upstreamRequestHeaders, clientResponseHeaders } from '../../proxy/headers.js'
import { createIdempotencyStore, fingerprint, MAX_STORED_RESPONSE_BYTES } from '../../proxy/idempotency.js'
import type { ProxyRoute } from '../../proxy/route-table.js'
import { boundIdempotencyStore } from '../../stores/idempotency-quota.js'
import { documentedProxyRoutes } from './docs.js'
import { inStage } from '../../tracing/request.js'

export const PROXY_BODY_LIMIT_BYTES = 100 * 1024 * 1024
const IDEMPOTENT_BODY_LIMIT = 1024 * 1024
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The route's response-header policy for one upstream answer (issue 12 finding 6). */
const policyOf = (route: ProxyRoute, status: number) => ({ status, allowSetCookie: route.allowSetCookie })

/** Counts bytes while streaming; fails the stream past `limit` (a lying Content-Length gains nothing). */
function limitStream(source: Readable, limit: number, onExceeded: () => void): Readable {
  let seen = 0
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length
      if (seen > limit) {
        onExceeded()
        return done(new LucidError('REQUEST_TOO_LARGE'))
      }
      done(null, chunk)
    }
  })
  source.on('error', (err) => t.destroy(err))
  return source.pipe(t)
}

async function readAll(source: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of source) {
    size += (chunk as Buffer).length
    if (size > limit)
      throw new LucidError('REQUEST_TOO_LARGE', `Requests with an Idempotency-Key are limited to ${limit} bytes`)
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts)
}

export default async function proxyRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify
  // Bounded per user (issue 12 finding 5): IDEMPOTENCY_MAX_RECORDS_PER_USER / _BYTES_PER_USER.
  const { idempotencyMaxRecordsPerUser: maxRecords, idempotencyMaxBytesPerUser: maxBytes } = app.config
  const limits = { maxRecords, maxBytes }
  const idempotency = boundIdempotencyStore(createIdempotencyStore(app.stateStore), app.stateStore, limits, {
    now: app.now,
    registry: app.metrics.registry
  })
  // Bodies of every type pass through untouched: JSON-only, 415 and depth checks are for the
  // gateway's own routes, not for what upstreams accept (CONTRACT.md section 3).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { bodyLimit: PROXY_BODY_LIMIT_BYTES }, (_req, payload, done) => done(null, payload))

  async function handle(route: ProxyRoute, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const user = request.user!
    const verdict = checkProxyPath(request.raw.url ?? request.url, route.prefix)
    if (!verdict.ok) throw new LucidError('INVALID_REQUEST', `Path not allowed: ${verdict.reason}`, { status: 400 })
    const needed = WRITE_METHODS.has(request.method) ? route.writeRole : route.readRole
    if (!roleAtLeast(user.role, needed)) throw new LucidError('FORBIDDEN', `Requires role ${needed} or above`)
    const client = app.upstreams.get(route.upstream)!
    const rawUrl = request.raw.url ?? request.url
    const query = rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?')) : ''
    const upstreamPath =
      (route.rewritePrefix !== undefined
        ? route.rewritePrefix + verdict.path.slice(route.prefix.length)
        : verdict.path) + query
    const declared = Number(request.headers['content-length'] ?? 0)
    if (declared > PROXY_BODY_LIMIT_BYTES) throw new LucidError('REQUEST_TOO_LARGE')

    const headers = upstreamRequestHeaders(request.headers, {
      requestId: request.id,
      // request.ips runs from our peer outwards, up to the first untrusted hop (trustProxy).
      peerIp: request.socket.remoteAddress ?? request.ip,
      trustedForwardedFor: request.ips !== undefined ? request.ips.slice(1).reverse() : [],
      proto: request.protocol,
      host: request.host,
      identity: { userId: user.id, role: user.role, token: await app.identityToken(user, route.upstream) },
      forwardAuthorization: route.forwardAuthorization
    })
    const abort = new CancelSignal()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort()
    })

    const idemKey = request.headers['idempotency-key']
    if (request.method === 'POST' && typeof idemKey === 'string') {
      if (!/^[\x21-\x7e]{1,255}$/.test(idemKey))
        throw new LucidError('INVALID_REQUEST', 'Idempotency-Key must be 1–255 visible ASCII characters', {
          status: 400
        })
      const body =
        request.body === undefined ? Buffer.alloc(0) : await readAll(request.body as Readable, IDEMPOTENT_BODY_LIMIT)
      const scope = `${user.id}:${route.upstream}`
      const fp = fingerprint(request.method, upstreamPath, body)
      const claim = await idempotency.claim(scope, idemKey, fp)
      if (claim.kind === 'mismatch')
        throw new LucidError('INVALID_REQUEST', 'Idempotency-Key was already used with a different request', {
          details: { idempotency_key: idemKey }
        })
      if (claim.kind === 'in_flight')
        throw new LucidError('ALREADY_EXISTS', 'A request with this Idempotency-Key is still in progress', {
          headers: { 'retry-after': '1' }
        })
      if (claim.kind === 'replay') {
        app.upstreamMetrics.replays.inc({ upstream: route.upstream })
        return reply
          .code(claim.response.status)
          .headers(claim.response.headers)
          .header('idempotent-replayed', 'true')
          .send(Buffer.from(claim.response.body_b64, 'base64'))
      }
      headers['content-length'] = String(body.length)
      delete headers['transfer-encoding']
      let res
      try {
        const post = {
          method: 'POST',
          path: upstreamPath,
          headers,
          body,
          signal: abort,
          retryable: true,
          timeoutMs: route.timeoutMs,
          parent: request.trace?.context
        }
        res = await inStage(request.trace, 'upstream', () => client.request(post))
      } catch (err) {
        await idempotency.release(scope, idemKey).catch(() => undefined)
        // An UpstreamError becomes its envelope in the one domain-error mapping (src/errors/domain.ts).
        throw err
      }
      const responseHeaders = clientResponseHeaders(res.headers, route.upstream, policyOf(route, res.statusCode))
      let responseBody: Buffer
      try {
        responseBody = await readAll(res.body, MAX_STORED_RESPONSE_BYTES)
      } catch {
        await idempotency.release(scope, idemKey).catch(() => undefined)
        throw new LucidError('BAD_UPSTREAM', 'Upstream response too large to record for an idempotent request', {
          details: { upstream: route.upstream }
        })
      }
      // A 5xx is not a result worth replaying: the key is freed so the client may try again.
      if (res.statusCode >= 500) await idempotency.release(scope, idemKey).catch(() => undefined)
      else
        await idempotency.complete(scope, idemKey, fp, {
          status: res.statusCode,
          headers: responseHeaders,
          body_b64: responseBody.toString('base64')
        })
      return reply.code(res.statusCode).headers(responseHeaders).send(responseBody)
    }

    let tooLarge = false
    const body =
      request.body === undefined
        ? undefined
        : limitStream(request.body as Readable, PROXY_BODY_LIMIT_BYTES, () => (tooLarge = true))
    try {
      const res = await inStage(request.trace, 'upstream', () =>
        client.request({
          method: request.method,
          path: upstreamPath,
          headers,
          body,
          signal: abort,
          retryable: body === undefined && IDEMPOTENT_METHODS.has(request.method),
          timeoutMs: route.timeoutMs,
          parent: request.trace?.context
        })
      )
      const responseHeaders = clientResponseHeaders(res.headers, route.upstream, policyOf(route, res.statusCode))
      reply.code(res.statusCode).headers(responseHeaders)
      return reply.send(res.body)
    } catch (err) {
      if (tooLarge) throw new LucidError('REQUEST_TOO_LARGE')
      if (abort.aborted) {
        request.log.info({ upstream: route.upstream }, 'client went away; upstream request cancelled')
        return reply
      }
      throw err
    }
  }

  for (const route of app.proxyTable.routes) {
    const common = {
      onRequest: [app.authenticate],
      config: { proxyRoute: route.prefix },
      bodyLimit: PROXY_BODY_LIMIT_BYTES,
      // The upstream is the authority on what it accepts: the documented schemas of proxied
      // requests are for the OpenAPI document only and never validate (issue 13: a raw body
      // stream checked against a JSON schema made every documented POST a 422).
      validatorCompiler: () => () => true
    }
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
    const handler = (request: FastifyRequest, reply: FastifyReply) => handle(route, request, reply)
    // The plans' endpoints, documented in the OpenAPI so clients see one API; same handler.
    const docs = documentedProxyRoutes(route.prefix)
    for (const doc of docs) app.route({ ...common, method: doc.method, url: doc.url, handler, schema: doc.schema })
    const documentedBare = new Set(
      docs.filter((d) => d.url === route.prefix).flatMap((d) => (d.method === 'GET' ? ['GET', 'HEAD'] : [d.method]))
    )
    app.route({
      ...common,
      method: methods.filter((m) => !documentedBare.has(m)),
      url: route.prefix,
      handler,
      schema: { hide: true }
    })
    app.route({ ...common, method: [...methods], url: `${route.prefix}/*`, handler, schema: { hide: true } })
  }
}
