/**
 * WORKERS=N: the primary forks N workers (node:cluster) that share the listening ports. The
 * primary serves nothing and opens nothing; it replaces a worker that dies, forwards SIGHUP
 * (certificate reload) and, on SIGTERM/SIGINT, has every worker drain, then exits.
 */
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { Config } from './config.js'

/** A worker that dies this soon after starting counts towards a crash loop. */
const EARLY_DEATH_MS = 5_000
const MAX_EARLY_DEATHS = 5

export async function runPrimary(config: Readonly<Config>, logger: Logger): Promise<void> {
  let stopping = false
  let earlyDeaths = 0
  const started = new Map<number, number>()

  const fork = (): Worker => {
    const w = cluster.fork()
    started.set(w.id, Date.now())
    w.on('online', () => logger.info({ worker: w.id, worker_pid: w.process.pid }, 'worker started'))
    return w
  }

  cluster.on('exit', (w, code, signal) => {
    const lived = Date.now() - (started.get(w.id) ?? 0)
    started.delete(w.id)
    if (stopping) {
      logger.info({ worker: w.id, worker_pid: w.process.pid, code }, 'worker stopped')
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped; exiting')
        logger.flush()
        process.exit(0)
      }
      return
    }
    logger.warn(
      { worker: w.id, worker_pid: w.process.pid, code, signal, lived_ms: lived },
      'worker died; starting a replacement'
    )
    earlyDeaths = lived < EARLY_DEATH_MS ? earlyDeaths + 1 : 0
    if (earlyDeaths >= MAX_EARLY_DEATHS) {
      logger.fatal({ deaths: earlyDeaths }, 'workers keep dying right after start; giving up (see their errors above)')
      logger.flush()
      process.exit(1)
    }
    fork()
  })

  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping workers: each drains its in-flight requests')
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
    const force = setTimeout(() => {
      logger.error({ timeout_ms: config.shutdownTimeoutMs }, 'workers did not stop in time; killing them')
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL')
      logger.flush()
      process.exit(1)
    }, config.shutdownTimeoutMs + 5_000)
    force.unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: workers reload the TLS certificate')
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP')
  })

  logger.info({ workers: config.workers, pid: process.pid }, 'primary starting workers')
  for (let i = 0; i < config.workers; i++) fork()
}
