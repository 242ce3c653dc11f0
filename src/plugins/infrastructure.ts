/**
 * Infrastructure decorators: configuration, database, state store, health checker and job runner.
 * The app owns (and closes) only what it opened itself; tests may pass their own instances.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Db } from '../data/db.js'
import type { StateStore } from '../stores/state-store.js'
import { createHealthChecker, type HealthChecker } from '../services/health.js'
import { createJobRunner, type JobRunner } from '../jobs/job-runner.js'
import { GATEWAY_VERSION } from '../version.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Readonly<Config>
    db: Db
    stateStore: StateStore
    health: HealthChecker
    jobs: JobRunner
    /** Feature names reported by /api/v1/meta/info. */
    features: string[]
    /** Injected clock (ms since epoch); tests replace it. */
    now: () => number
  }
}

export interface InfrastructureOptions {
  config: Readonly<Config>
  db: Db
  stateStore: StateStore
  ownsDb: boolean
  ownsStateStore: boolean
  now: () => number
}

async function infrastructure(app: FastifyInstance, opts: InfrastructureOptions): Promise<void> {
  app.decorate('config', opts.config)
  app.decorate('db', opts.db)
  app.decorate('stateStore', opts.stateStore)
  app.decorate('now', opts.now)
  app.decorate('features', ['authentication', 'rate_limiting', 'metrics', 'openapi'])
  app.decorate(
    'health',
    createHealthChecker({
      db: opts.db,
      stateStore: opts.stateStore,
      version: GATEWAY_VERSION,
      cacheMs: opts.config.healthCacheMs
    })
  )
  const jobs = createJobRunner({
    db: opts.db,
    logger: app.log,
    now: opts.now,
    tracing: app.tracing,
    onResult: (job, result, seconds) => app.metrics?.jobRuns.inc({ job, result }, 1) ?? seconds
  })
  app.decorate('jobs', jobs)

  app.addHook('onReady', async () => {
    if (opts.config.jobsEnabled) jobs.start()
  })
  // Close order: stop jobs first (they use the database), then the stores.
  app.addHook('onClose', async () => {
    await jobs.stop()
    if (opts.ownsStateStore) await opts.stateStore.close()
    if (opts.ownsDb) await opts.db.close()
  })
}

export default fp(infrastructure, { name: 'lucid-infrastructure', dependencies: ['lucid-tracing'] })
