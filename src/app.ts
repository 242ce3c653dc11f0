/**
 * buildApp(config): the whole gateway as a Fastify instance, without listening (STYLE.md).
 * Plugins are registered explicitly in three tiers: infrastructure → shared services → routes.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from 'fastify'
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
import { requestIdFrom } from './http/security-headers.js'
import requestPath from './pipeline/request-path.js'
import { rewriteRequestUrl } from './http/path.js'
import { answerFrameworkError } from './plugins/errors.js'
import metrics from './plugins/metrics.js'
import admission, { answerClientError } from './plugins/admission.js'
import tracingPlugin from './plugins/tracing.js'
import { traceDb, traceStateStore } from './tracing/stores.js'
import { GATEWAY_VERSION } from './version.js'
import infrastructure from './plugins/infrastructure.js'
import auth from './plugins/auth.js'
import docs from './plugins/docs.js'
import rateLimit from './plugins/rate-limit.js'
import upstreams from './plugins/upstreams.js'
import proxyRoutes from './routes/proxy/index.js'
import { attachWebSocketProxy } from './proxy/websocket.js'
import probeRoutes from './routes/probes.js'
import metaRoutes from './routes/meta/index.js'
import authRoutes from './routes/auth/index.js'
import userRoutes from './routes/users/index.js'
import auditRoutes from './routes/audit/index.js'
import backupRoutes, { backupScheduleRoutes } from './routes/backups/index.js'
import services from './plugins/services.js'
import volumeRoutes from './routes/volumes/index.js'
import searchRoutes from './routes/search/index.js'
import databaseRoutes from './routes/database/index.js'
import cacheRoutes from './routes/cache/index.js'
import sessionRoutes from './routes/sessions/index.js'
import sessionHelpers from './routes/shared/sessions.js'
import manifestRoutes from './routes/manifests/index.js'
import trustRoutes from './routes/trust/index.js'
import traffic from './plugins/traffic.js'
import operatorRoutes from './routes/operator/index.js'
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

/** How often Node enforces HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS on open connections, ms. */
export const CONNECTIONS_CHECK_MS = 1_000

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
    // Node checks header and request deadlines on this interval (default 30 s, so a 10 s
    // HEADERS_TIMEOUT_MS was cut only after up to 40 s).
    http: { connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    clientErrorHandler: answerClientError,
    // One normalised path for the router and every decision after it (issue 12 finding 2).
    rewriteUrl: rewriteRequestUrl,
    // Bad URLs the router cannot decode get the envelope, never the raw URL echoed (finding 10).
    frameworkErrors: answerFrameworkError,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: false, maxParamLength: 200 },
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.server.headersTimeout = config.headersTimeoutMs

  const openedDb = opts.db ?? (await openDb(config, (err) => app.log.warn({ err }, 'idle database connection lost')))
  try {
    const result = await migrate(openedDb)
    if (result.applied.length > 0)
      app.log.info({ applied: result.applied, version: result.version }, 'database migrated')
  } catch (err) {
    if (opts.db === undefined) await openedDb.close()
    throw err
  }
  const openedStore =
    opts.stateStore ??
    (await openStateStore(config, (err) => app.log.warn({ err: err.message }, 'state store connection error')))
  // Tracing (issue 17): undefined without an OTLP endpoint; then nothing below is wrapped, and the
  // SDK (about 1 s and 20 MB to load) is never even imported.
  const tracing =
    config.tracing.tracesUrl === undefined
      ? undefined
      : (await import('./tracing/provider.js')).createTracing(config.tracing, {
          version: GATEWAY_VERSION,
          environment: config.environment,
          warn: (o, m) => app.log.warn(o, m)
        })
  // Query and command spans find their parent through AsyncLocalStorage: TRACING_CONTEXT=async only.
  const storeSpans = tracing?.contextMode === 'async' ? tracing : undefined
  const db = storeSpans === undefined ? openedDb : traceDb(openedDb, storeSpans)
  const stateStore = storeSpans === undefined ? openedStore : traceStateStore(openedStore, storeSpans)

  // Tier 1 — infrastructure. The request path's hooks are all registered, in their order, by
  // src/pipeline/request-path.ts: trace → CORS → admit → identify → limit → respond → record.
  await app.register(metrics)
  await app.register(tracingPlugin, { tracing, serverTiming: config.serverTiming })
  await app.register(admission, { config })
  await app.register(requestPath, { config, tracing, docsPrefix: '/docs' })
  // After the pipeline: the 404/405 shadow router must not learn CORS's own OPTIONS * route.
  await app.register(errors)
  await app.register(jsonBody)
  await app.register(infrastructure, {
    config,
    db,
    stateStore,
    ownsDb: opts.db === undefined,
    ownsStateStore: opts.stateStore === undefined,
    now: opts.now ?? Date.now
  })
  await app.register(docs, { enabled: config.docsEnabled, publicUrl: config.publicUrl })
  await app.register(traffic)

  // Tier 2 — shared services.
  await app.register(auth)
  await app.register(rateLimit)
  await app.register(upstreams)
  await app.register(services)
  await app.register(sessionHelpers)

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
  await app.register(backupScheduleRoutes, { prefix: '/api/v1/backup-schedules' })
  await app.register(databaseRoutes, { prefix: '/api/v1/database' })
  await app.register(searchRoutes, { prefix: '/api/v1/search' })
  await app.register(volumeRoutes, { prefix: '/api/v1/volumes' })
  await app.register(adminUi, config.adminUi)
  await app.register(proxyRoutes)
  const gateway = app as unknown as FastifyInstance
  gateway.addHook('onReady', async () => {
    attachWebSocketProxy(gateway.server, {
      config: gateway.config,
      admitUpgrade: (ip) => gateway.admission.admitUpgrade(ip),
      routes: () => gateway.proxyTable.routes,
      identify: (headers) => gateway.identifyHeaders(headers),
      decideLimit: (input) => gateway.rateLimit.decide(input),
      upstream: (name) => gateway.upstreams.get(name),
      identityToken: (user, audience) => gateway.identityToken(user, audience),
      tracing: gateway.tracing
    })
  })

  return app as unknown as FastifyInstance
}
