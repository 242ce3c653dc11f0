/**
 * The process: load config, build the logger, build the app, listen, and shut down gracefully
 * on SIGTERM/SIGINT (stop accepting, finish in-flight requests within SHUTDOWN_TIMEOUT_MS, close
 * the database and Redis, exit 0).
 */
import { existsSync } from 'node:fs'
import pino from 'pino'
import { ConfigError, freezeConfig, loadConfig } from './config.js'
import { ensureEmbeddedSecrets } from './secrets.js'
import { loggerOptions } from './logger.js'
import { buildApp } from './app.js'

/** Reads ./.env when present; variables already in the environment win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file)
}

export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  loadDotEnv()
  let config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
  // Buffered, asynchronous writes: one syscall per 4 KiB of log lines instead of one per line
  // (issue 9: logging within 10% of throughput). Flushed on shutdown.
  const logger = pino(loggerOptions(config.logLevel), pino.destination({ dest: 1, sync: false, minLength: 4096 }))
  // …and never more than a second behind, so a quiet gateway's lines still show up promptly.
  setInterval(() => logger.flush(), 1_000).unref()
  config = freezeConfig(await ensureEmbeddedSecrets(config, logger))

  const app = await buildApp(config, { logger })
  let closing = false
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
      await app.close()
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

  await app.listen({ port: config.httpPort, host: config.host })
  logger.info({ port: config.httpPort, database: app.db.kind, state: app.stateStore.kind }, 'gateway listening')
  logger.flush()
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href
if (isMain) {
  startServer().catch((err) => {
    console.error(`gateway failed to start: ${(err as Error).message}`)
    process.exit(1)
  })
}
