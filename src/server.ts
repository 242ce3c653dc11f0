/**
 * The process: load config, build the logger, build the app, listen, and shut down gracefully
 * on SIGTERM/SIGINT (stop accepting, finish in-flight requests within SHUTDOWN_TIMEOUT_MS, close
 * the database and Redis, exit 0).
 */
import cluster from 'node:cluster'
import { X509Certificate } from 'node:crypto'
import client from 'prom-client'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { ConfigError, freezeConfig, loadConfig, type Config } from './config.js'
import { runPrimary } from './cluster.js'
import { ensureEmbeddedSecrets } from './secrets.js'
import { loggerOptions } from './logger.js'
import { buildApp, CONNECTIONS_CHECK_MS } from './app.js'
import { answerClientError } from './plugins/admission.js'
import { bannerLines, localUrl } from './banner.js'
import { GATEWAY_VERSION } from './version.js'

/** Reads ./.env when present; variables already in the environment win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file)
}

function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
}

async function readTls(config: Readonly<Config>): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(config.sslCertPath as string), readFile(config.sslKeyPath as string)])
  return { cert, key }
}

/**
 * HTTPS next to HTTP, served by the same Fastify instance through `app.routing` (and the same
 * WebSocket upgrade handling). SIGHUP re-reads the certificate and key: new handshakes use them,
 * established connections carry on untouched.
 */
async function listenTls(app: FastifyInstance, config: Readonly<Config>, logger: Logger): Promise<https.Server> {
  const initial = await readTls(config)
  const expiry = new client.Gauge({
    name: 'tls_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the served TLS certificate',
    registers: [app.metrics.registry]
  })
  const recordExpiry = (cert: Buffer) => expiry.set(Date.parse(new X509Certificate(cert).validTo) / 1000)
  recordExpiry(initial.cert)
  const tlsOptions = { ...initial, minVersion: 'TLSv1.2' as const, connectionsCheckingInterval: CONNECTIONS_CHECK_MS }
  const server = https.createServer(tlsOptions, app.routing)
  server.on('clientError', answerClientError)
  server.keepAliveTimeout = config.keepAliveTimeoutMs
  server.headersTimeout = config.headersTimeoutMs
  server.requestTimeout = config.requestTimeoutMs
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => app.server.emit('upgrade', req, socket, head))
  process.on('SIGHUP', () => {
    readTls(config)
      .then((material) => {
        // Throws on a malformed PEM or a key that does not match: the old context stays.
        server.setSecureContext({ ...material, minVersion: 'TLSv1.2' })
        recordExpiry(material.cert)
        logger.info({ cert: config.sslCertPath }, 'TLS certificate reloaded')
      })
      .catch((err: Error) =>
        logger.error({ err, cert: config.sslCertPath }, 'TLS certificate reload failed; keeping the previous one')
      )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.httpsPort, config.host, config.listenBacklog, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}

export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  loadDotEnv()
  let config = loadConfigOrExit(env)
  // Buffered, asynchronous writes: one syscall per 4 KiB of log lines instead of one per line
  // (issue 9: logging within 10% of throughput). Flushed on shutdown.
  const base = pino(loggerOptions(config.logLevel), pino.destination({ dest: 1, sync: false, minLength: 4096 }))
  const logger = cluster.isWorker ? base.child({ worker: cluster.worker?.id }) : base
  // …and never more than a second behind, so a quiet gateway's lines still show up promptly.
  // (One flush at a time: a flush waits for 'drain', and stacking them leaks listeners under load.)
  let flushing = false
  setInterval(() => {
    if (flushing) return
    flushing = true
    logger.flush(() => {
      flushing = false
    })
  }, 1_000).unref()
  config = freezeConfig(await ensureEmbeddedSecrets(config, logger))

  const app = await buildApp(config, { logger })
  let closing = false
  let tlsServer: https.Server | undefined
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down: draining in-flight requests')
    const force = setTimeout(() => {
      logger.error({ timeout_ms: config.shutdownTimeoutMs }, 'shutdown timed out (SHUTDOWN_TIMEOUT_MS); exiting')
      logger.flush()
      process.exit(1)
    }, config.shutdownTimeoutMs)
    force.unref()
    try {
      // HTTPS stops accepting alongside HTTP; its in-flight requests finish (app.close drains them).
      const tlsClosed =
        tlsServer === undefined
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              tlsServer?.close(() => resolve())
              tlsServer?.closeIdleConnections()
            })
      await Promise.all([app.close(), tlsClosed])
      logger.info('shutdown complete')
      logger.flush()
      process.exit(0)
    } catch (err) {
      logger.error({ err }, 'error during shutdown')
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  // A longer accept queue than Node's 511: when it overflows, clients' handshakes stall on SYN
  // retransmits (1 s, 3 s, …), which showed up as multi-second tails at 1024 connections.
  await app.listen({ port: config.httpPort, host: config.host, backlog: config.listenBacklog })
  if (config.sslCertPath !== undefined) tlsServer = await listenTls(app, config, logger)
  // SIGHUP's default action ends the process: without TLS there is nothing to reload.
  else process.on('SIGHUP', () => logger.info('SIGHUP: no TLS certificate configured, nothing to reload'))
  const port = (app.server.address() as { port?: number } | null)?.port ?? config.httpPort
  const url = localUrl(config, port)
  logger.info(
    {
      port,
      url,
      docs: config.docsEnabled ? `${url}/docs` : undefined,
      https_port: config.sslCertPath === undefined ? undefined : config.httpsPort,
      database: app.db.kind,
      state: app.stateStore.kind
    },
    'gateway listening'
  )
  logger.flush()
  // The human-readable summary, once per start (worker 1 of several), for a person at a terminal.
  if (process.stderr.isTTY && (!cluster.isWorker || cluster.worker?.id === 1)) {
    const facts = {
      version: GATEWAY_VERSION,
      database: app.db.kind,
      state: app.stateStore.kind,
      upstreams: app.proxyTable.services,
      isSet: (name: string) => (env[name] ?? '').trim() !== ''
    }
    process.stderr.write(`\n${bannerLines(config, facts, port).join('\n')}\n\n`)
  }
}

/** `npm start` / `lucid-gateway serve`: one process, or a primary with WORKERS workers. */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  loadDotEnv()
  const config = loadConfigOrExit(env)
  if (config.workers > 1 && cluster.isPrimary) {
    const logger = pino(loggerOptions(config.logLevel))
    return runPrimary(freezeConfig(config), logger)
  }
  return startServer(env)
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href
if (isMain) {
  serve().catch((err) => {
    console.error(`gateway failed to start: ${(err as Error).message}`)
    process.exit(1)
  })
}
