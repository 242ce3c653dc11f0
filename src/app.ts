/**
 * buildApp(config): the whole gateway as a Fastify instance, without listening (STYLE.md).
 * Plugins are registered explicitly in three tiers: infrastructure → shared services → routes.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger, type FastifyRequest } from 'fastify'
import cors from '@fastify/cors'
import underPressure from '@fastify/under-pressure'
import { LucidError } from './errors.js'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { Db } from './data/db.js'
import { openDb } from './data/open-db.js'
import { migrate } from './data/migrate.js'
import type { StateStore } from './stores/state-store.js'
import { openStateStore } from './stores/open-state-store.js'
import { loggerOptions } from './logger.js'
import errors from './plugins/errors.js'
import jsonBody from './plugins/json-body.js'
import httpHygiene, { requestIdFrom } from './plugins/http-hygiene.js'
import metrics from './plugins/metrics.js'
import infrastructure from './plugins/infrastructure.js'
import auth from './plugins/auth.js'
import docs from './plugins/docs.js'
import rateLimit from './plugins/rate-limit.js'
import upstreams from './plugins/upstreams.js'
import proxyRoutes from './routes/proxy/index.js'
import { attachWebSocketProxy } from './proxy/websocket.js'
import probeRoutes from './routes/probes.js'
import metaRoutes from './routes/meta/index.js'
import authRoutes, { authServicePlugin } from './routes/auth/index.js'
import userRoutes from './routes/users/index.js'
import auditRoutes from './routes/audit/index.js'
import backupRoutes, { backupServicePlugin } from './routes/backups/index.js'
import retention from './plugins/retention.js'
import chainPlugin from './plugins/chain.js'
import volumeRoutes, { volumeServicePlugin } from './routes/volumes/index.js'
import searchRoutes from './routes/search/index.js'
import databaseRoutes from './routes/database/index.js'
import cacheRoutes from './routes/cache/index.js'
import sessionRoutes, { sessionsServicePlugin } from './routes/sessions/index.js'
import manifestRoutes from './routes/manifests/index.js'
import trustRoutes from './routes/trust/index.js'
import traffic from './plugins/traffic.js'
import operatorRoutes, { operatorServicesPlugin } from './routes/operator/index.js'
import adminIdentityRoutes from './routes/users/admin-identity.js'
import adminUi from './plugins/admin-ui.js'

export interface BuildOptions {
  /** Use this database instead of opening one from config (the caller closes it). */
  db?: Db
  /** Use this state store instead of opening one from config (the caller closes it). */
  stateStore?: StateStore
  logger?: FastifyBaseLogger
  now?: () => number
}

const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-Request-ID', 'X-API-Key', 'Idempotency-Key', 'X-Chunk-Index', 'X-Chunk-SHA256', 'traceparent', 'tracestate']
const CORS_EXPOSED_HEADERS = ['X-Request-ID', 'RateLimit', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'Idempotent-Replayed', 'ETag']

export async function buildApp(config: Readonly<Config>, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger !== undefined ? { loggerInstance: opts.logger } : { logger: loggerOptions(config.logLevel) }),
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    // One access line per request is written by the metrics plugin instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // A number means "trust the nth hop" (Fastify supports it; its types omit it).
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: false, maxParamLength: 200 },
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.server.headersTimeout = config.headersTimeoutMs

  const db = opts.db ?? (await openDb(config, (err) => app.log.warn({ err }, 'idle database connection lost')))
  try {
    const result = await migrate(db)
    if (result.applied.length > 0) app.log.info({ applied: result.applied, version: result.version }, 'database migrated')
  } catch (err) {
    if (opts.db === undefined) await db.close()
    throw err
  }
  const stateStore = opts.stateStore ?? (await openStateStore(config, (err) => app.log.warn({ err: err.message }, 'state store connection error')))

  // Tier 1 — infrastructure. CORS first, so preflights are answered before any auth or limit.
  const corsAllowed = new Set(config.corsOrigins === '*' ? [] : config.corsOrigins)
  await app.register(cors, {
    // A function so that a disallowed origin disables CORS for that request entirely: no
    // Access-Control-Allow-* header at all, not even on a preflight (CONTRACT.md section 5).
    origin: config.corsOrigins === '*' ? '*' : (origin, cb) => cb(null, origin !== undefined && corsAllowed.has(origin) ? origin : false),
    credentials: config.corsOrigins !== '*' && config.corsOrigins.length > 0,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600
  })
  await app.register(httpHygiene, { allowedHosts: config.allowedHosts, docsPrefix: '/docs' })
  if (config.sslCertPath !== undefined && config.httpRedirectToHttps) {
    // Plain HTTP → HTTPS, except what probes and Prometheus call over the pod network.
    const exempt = new Set(['/health', '/ready', '/metrics'])
    app.addHook('onRequest', async (request, reply) => {
      if ((request.raw.socket as { encrypted?: boolean }).encrypted === true || exempt.has(request.url.split('?', 1)[0])) return
      // PUBLIC_URL's host when set, so a forged Host header cannot choose the redirect target.
      const host = config.publicUrl !== undefined ? new URL(config.publicUrl).host : `${request.hostname}${config.httpsPort === 443 ? '' : `:${config.httpsPort}`}`
      return reply.code(308).header('location', `https://${host}${request.url}`).send()
    })
  }
  // Load shedding, part 1: a cap on requests in flight in this process. Beyond it a request gets
  // an immediate 503 instead of waiting behind hundreds of others (the queueing that made the
  // 256/1024-connection tails reach seconds). Counted until the response is finished or aborted.
  if (config.loadShedMaxInFlight > 0) {
    let inFlight = 0
    const max = config.loadShedMaxInFlight
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config?.rateLimit === false) return done()
      if (inFlight >= max) {
        app.metrics?.shed.inc({ reason: 'in_flight' })
        return done(new LucidError('SERVICE_UNAVAILABLE', 'Gateway overloaded; retry shortly', { headers: { 'retry-after': '1' }, details: { reason: 'in_flight' } }))
      }
      inFlight++
      // 'finish' when the response is written, 'close' if the client went away first: once.
      let counted = true
      const release = () => {
        if (counted) {
          counted = false
          inFlight--
        }
      }
      reply.raw.once('finish', release)
      reply.raw.once('close', release)
      done()
    })
  }
  // Load shedding, part 2: when the event loop lags, answer a fast 503 instead of queueing into
  // seconds (issue 9). Probes and /metrics are exempt, so an overloaded instance is not restarted.
  if (config.loadShedMaxEventLoopDelayMs > 0) {
    // Start-up (module compilation, migrations) stalls the loop once; that is not overload, so
    // shedding starts a moment after the app is ready.
    let sheddingFrom = Number.POSITIVE_INFINITY
    app.addHook('onReady', async () => {
      sheddingFrom = Date.now() + 2_000
    })
    await app.register(underPressure, {
      maxEventLoopDelay: config.loadShedMaxEventLoopDelayMs,
      sampleInterval: 100,
      retryAfter: 1,
      // under-pressure sends whatever the handler returns (our error goes through the envelope);
      // its type only admits void, hence the cast.
      pressureHandler: ((request: FastifyRequest, _reply: unknown, type: string, value: number | undefined) => {
        if (request.routeOptions.config?.rateLimit === false || Date.now() < sheddingFrom) return undefined
        request.log.warn({ type, value }, 'shedding load')
        app.metrics?.shed.inc({ reason: type })
        return new LucidError('SERVICE_UNAVAILABLE', 'Gateway overloaded; retry shortly', { headers: { 'retry-after': '1' }, details: { reason: type } })
      }) as unknown as () => void
    })
  }
  await app.register(errors)
  await app.register(jsonBody)
  await app.register(metrics)
  await app.register(infrastructure, { config, db, stateStore, ownsDb: opts.db === undefined, ownsStateStore: opts.stateStore === undefined, now: opts.now ?? Date.now })
  await app.register(docs, { enabled: config.docsEnabled })
  await app.register(traffic)

  // Tier 2 — shared services.
  await app.register(auth)
  await app.register(authServicePlugin)
  await app.register(rateLimit)
  await app.register(upstreams)
  await app.register(sessionsServicePlugin)
  await app.register(backupServicePlugin)
  await app.register(chainPlugin)
  await app.register(volumeServicePlugin)
  await app.register(retention)
  await app.register(operatorServicesPlugin)

  // Tier 3 — routes.
  await app.register(probeRoutes)
  await app.register(metaRoutes, { prefix: '/api/v1/meta' })
  await app.register(operatorRoutes, { prefix: '/api/v1/meta' })
  await app.register(authRoutes, { prefix: '/api/v1/auth' })
  await app.register(userRoutes, { prefix: '/api/v1/users' })
  await app.register(adminIdentityRoutes, { prefix: '/api/v1/users' })
  await app.register(cacheRoutes, { prefix: '/api/v1/cache' })
  await app.register(sessionRoutes, { prefix: '/api/v1/sessions' })
  await app.register(manifestRoutes, { prefix: '/api/v1/manifests' })
  await app.register(trustRoutes, { prefix: '/api/v1/trust' })
  await app.register(auditRoutes, { prefix: '/api/v1/audit' })
  await app.register(backupRoutes, { prefix: '/api/v1/backups' })
  await app.register(databaseRoutes, { prefix: '/api/v1/database' })
  await app.register(searchRoutes, { prefix: '/api/v1/search' })
  await app.register(volumeRoutes, { prefix: '/api/v1/volumes' })
  await app.register(adminUi, config.adminUi)
  await app.register(proxyRoutes)
  attachWebSocketProxy(app as unknown as FastifyInstance)

  return app as unknown as FastifyInstance
}
