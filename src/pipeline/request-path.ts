/**
 * The request path of the gateway, in order (issue 15; STYLE.md "The request path"):
 *
 *   trace → (CORS preflight) → admit → identify → authenticate → limit → route → respond → record
 *
 * This file is the one place that orders the stages: it registers every request-path hook, each
 * calling the stage's plain function (src/pipeline/<stage>.ts, no Fastify import), and nothing
 * else in the gateway adds a global request hook except the dashboard's traffic sampler
 * (src/plugins/traffic.ts, onResponse). Hooks of one lifecycle phase are merged where the order
 * allows, since every hook costs each request its bookkeeping; per request, with tracing off:
 * CORS + one onRequest, the route's guard, one preParsing, one onSend, one onResponse (and the
 * preValidation of the few routes with an optional body). Fastify's own lifecycle is never
 * bypassed: `rewriteUrl` normalises the path before routing (src/http/path.ts), the router
 * matches, then these hooks run.
 *
 * Where authenticate runs: it is per route, not global — `onRequest: [app.authenticate]` (or
 * `requireRole`) on the routes that need it (src/plugins/auth.ts), which Fastify runs after the
 * global onRequest hook below. The credentials are resolved once, by the limit stage (a flood of
 * bad tokens is limited as the public client it is), and the guard reuses that resolution to
 * answer 401/403. So the order in effect is admit → identify → limit(resolve identity) → guard.
 */
import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import { context } from '@opentelemetry/api'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  preValidationHookHandler
} from 'fastify'
import type { Config } from '../config.js'
import type { Tracing } from '../tracing/provider.js'
import { endRequestTrace, serverTimingValue } from '../tracing/request.js'
import { roleAtLeast } from '../auth/roles.js'
import { errorCodeOf } from '../plugins/errors.js'
import { createTraceStart } from './trace.js'
import { corsOptions } from './cors.js'
import { admitRequest, closeAfterEarlyError, guardRequestBody } from './admit.js'
import { createHttpsRedirect, createIdentify } from './identify.js'
import { limitRequest } from './limit.js'
import { createResponseHeaders } from './respond.js'
import { accessLine, type FinishedRequest } from './record.js'
import { benchDisabledStages } from './bench-switches.js'

export interface RequestPathOptions {
  config: Readonly<Config>
  tracing: Tracing | undefined
  /** Where the API docs are served (their pages get the docs CSP). */
  docsPrefix: string
}

/** Probes and Prometheus scrapes (`config.rateLimit: false`) are never traced, admitted or limited. */
const exempt = (request: FastifyRequest): boolean => request.routeOptions.config?.rateLimit === false

async function requestPath(app: FastifyInstance, opts: RequestPathOptions): Promise<void> {
  const { config } = opts
  const off = benchDisabledStages(process.env)
  if (off.size > 0)
    app.log.warn({ stages: [...off] }, 'BENCH_MODE: request-path stages switched off; never use in production')
  else if (process.env.BENCH_DISABLE_STAGES !== undefined && process.env.BENCH_MODE !== '1') {
    app.log.warn('BENCH_DISABLE_STAGES ignored: it takes effect only with BENCH_MODE=1')
  }

  // 0. trace — first of all, so preflights and shed requests are traced too. No hook at all with
  //    tracing and Server-Timing off. The rest of the request runs inside the span's context.
  const traceStart = off.has('tracing') ? undefined : createTraceStart(opts.tracing, config.serverTiming)
  const asyncContext = opts.tracing?.contextMode === 'async'
  if (traceStart !== undefined) {
    app.addHook('onRequest', (request, reply, done) => {
      if (exempt(request)) return done()
      const rt = traceStart({
        method: request.method,
        url: request.url,
        scheme: request.protocol,
        ip: request.ip,
        id: request.id,
        headers: request.headers
      })
      if (rt === undefined) return done()
      request.trace = rt
      if (rt.span === undefined) return done()
      // 'close' follows 'finish', and comes alone when the client went away first.
      reply.raw.once('close', () => {
        endRequestTrace(rt, {
          status: reply.statusCode,
          route: request.routeOptions.url,
          userId: request.user?.id,
          role: request.user?.role,
          errorCode: errorCodeOf(request),
          aborted: !reply.raw.writableFinished
        })
      })
      // Listeners Fastify adds later (body parsing) run in the request's context; bodiless
      // requests (most of them) have none to bind.
      // With TRACING_CONTEXT=explicit nothing reads the active context: the span travels on request.trace.
      if (!asyncContext) return done()
      const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
      if (length !== undefined || chunked !== undefined) context.bind(rt.context, request.raw)
      context.with(rt.context, done)
    })
  }

  //    CORS preflights are answered here, before admission, authentication or any limit (its own
  //    onRequest hook: @fastify/cors offers no function to call from ours).
  await app.register(cors, corsOptions(config))

  // 1. admit → 2. identify → 4. limit: one onRequest hook. (3. authenticate is the route's guard,
  //    run by Fastify right after this hook; see the header comment.)
  const admitOn = !off.has('admission')
  const identifyOn = !off.has('identify')
  const identify = createIdentify({ allowedHosts: config.allowedHosts, trustProxy: config.trustProxy })
  const redirect =
    config.sslCertPath !== undefined && config.httpRedirectToHttps
      ? createHttpsRedirect({ publicUrl: config.publicUrl, httpsPort: config.httpsPort })
      : undefined
  const limitOn = config.rateLimit.enabled

  const afterAdmit = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    reply.header('x-request-id', request.id)
    if (identifyOn) {
      const refusal = identify(request.raw, request.hostname ?? '')
      if (refusal !== undefined) return done(refusal)
    }
    if (redirect !== undefined) {
      const location = redirect(request.raw, request.url, request.hostname)
      if (location !== undefined) {
        void reply.code(308).header('location', location).send()
        return
      }
    }
    if (!limitOn || exempt(request)) return done()
    const resolveIdentity = () => app.resolveIdentity(request)
    limitRequest({ ip: request.ip, method: request.method, url: request.url, resolveIdentity }, (input) =>
      app.rateLimit.decide({ ...input, log: request.log, trace: request.trace })
    ).then(({ headers, error }) => {
      reply.headers(headers)
      done(error)
    }, done)
  }
  app.addHook('onRequest', (request, reply, done) => {
    if (!admitOn || exempt(request)) return afterAdmit(request, reply, done)
    admitRequest(app.admission.admit, request.ip, reply.raw, (err) =>
      err !== undefined ? done(err) : afterAdmit(request, reply, done)
    )
  })

  //    admit, continued: bodies must arrive at a minimum rate (slow-body defence).
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (!admitOn || exempt(request)) return done(null, payload)
    done(null, guardRequestBody(request.headers, payload, app.admission.bodyRule))
  })

  // 5. route — Fastify validates against the route's schema, then runs the handler (a service
  //    call, or the proxy: src/routes/proxy). A left-out optional body (schema.bodyOptional)
  //    validates as `{}` so its defaults apply; Fastify would validate it as null (issue 13).
  //    Only the few routes that declare it get this hook, first of their preValidation hooks.
  const optionalBody: preValidationHookHandler = (request, _reply, done) => {
    if (request.body === undefined) request.body = {}
    done()
  }
  app.addHook('onRoute', (route) => {
    if ((route.schema as { bodyOptional?: boolean } | undefined)?.bodyOptional !== true) return
    const own = route.preValidation === undefined ? [] : [route.preValidation].flat()
    route.preValidation = [optionalBody, ...own]
  })

  // 6. respond — every answer, errors and 404s included.
  const securityHeaders = createResponseHeaders(opts.docsPrefix)
  const headersOn = !off.has('headers')
  const timing = config.serverTiming.mode
  // While draining, each finished response closes its keep-alive connection, so shutdown does not
  // wait for idle sockets to time out (KEEP_ALIVE_TIMEOUT_MS) after the last in-flight request.
  let draining = false
  app.addHook('preClose', async () => {
    draining = true
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    if (draining || (admitOn && closeAfterEarlyError(reply.statusCode, request.raw)))
      reply.header('connection', 'close')
    if (headersOn)
      for (const [k, v] of securityHeaders(request.url, reply.hasHeader('content-security-policy'))) reply.header(k, v)
    const rt = request.trace
    if (rt !== undefined && timing !== 'off') {
      const admin = timing === 'admin' && request.user !== undefined && roleAtLeast(request.user.role, 'admin')
      if (rt.timingGranted || admin) reply.header('server-timing', serverTimingValue(rt))
    }
    done(null, payload)
  })

  // 7. record — metrics and the access line, once the response is done.
  const metricsOn = !off.has('metrics')
  const logOn = !off.has('log')
  // The access line goes through a child without the redaction pass (src/logger.ts REDACT_PATHS):
  // its fields are built by accessLine() and none can carry a credential (the path without its
  // query, ids, numbers), while every other line, request headers included, is still redacted.
  // pino's own child option; the redaction pass was most of the line's cost (issue 15).
  const accessLog = app.log.child({}, { redact: { paths: [] } })
  app.addHook('onResponse', (request, reply, done) => {
    const finished: FinishedRequest = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      url: request.url,
      status: reply.statusCode,
      elapsedMs: reply.elapsedTime,
      errorCode: errorCodeOf(request),
      userId: request.userId,
      ip: request.ip,
      traceId: request.trace?.traceId,
      spanId: request.trace?.spanId
    }
    if (metricsOn) app.metrics.requests.record(finished)
    if (logOn) accessLog.info(accessLine(request.id, finished), 'request completed')
    done()
  })
}

export default fp(requestPath, {
  name: 'lucid-request-path',
  dependencies: ['lucid-metrics', 'lucid-tracing', 'lucid-admission']
})
