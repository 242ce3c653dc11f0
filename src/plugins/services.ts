/**
 * Decorates the app with `services` (src/services/index.ts), registers every job they return
 * from that one list, and runs their start-up and shutdown steps.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createServices, type Services } from '../services/index.js'
import { createMailer } from '../services/mailer.js'

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

export default fp(
  async function servicesPlugin(app: FastifyInstance): Promise<void> {
    const { config } = app
    const mailer = createMailer({
      smtpUrl: config.smtpUrl,
      from: config.mailFrom,
      dataDir: config.dataDir,
      log: app.log
    })
    const { services, jobs } = createServices({
      db: app.db,
      stateStore: app.stateStore,
      repos: app.repos,
      tokens: app.tokens,
      identity: app.identity,
      upstreams: app.upstreams,
      limiter: app.rateLimit.limiter,
      traffic: app.traffic.recorder,
      mailer,
      metricsRegistry: app.metrics.registry,
      config,
      now: app.now,
      log: app.log
    })
    app.decorate('services', services)
    for (const job of jobs) app.jobs.define(job)

    app.addHook('onReady', async () => {
      // BOOTSTRAP_SUPER_ADMINS applies to an account's first login only; an address that already
      // has an account keeps its role, which used to happen silently (issue 13).
      for (const address of config.bootstrapSuperAdmins) {
        const user = await app.repos.users.findByAddress(address).catch(() => null)
        if (user !== null && user.role !== 'super_admin') {
          app.log.warn(
            { setting: 'BOOTSTRAP_SUPER_ADMINS', tron_address: address, role: user.role },
            `BOOTSTRAP_SUPER_ADMINS: ${address} already has an account (role ${user.role}); the setting only applies to a first login. Promote it with: npx lucid-gateway grant-role ${address} super_admin`
          )
        }
      }
      await services.volumes
        .init()
        .catch((err: Error) => app.log.error({ err }, 'could not register the system volumes'))
      // Uploads killed mid-way (process crash) leave temporary files; they are never recorded.
      const n = await services.chunkStore.sweepTemporary()
      if (n > 0) app.log.warn({ removed: n }, 'removed partial chunk uploads left by an interrupted process')
    })
    app.addHook('onClose', async () => {
      await services.backups.idle()
      mailer.close()
    })
  },
  {
    name: 'lucid-services',
    dependencies: [
      'lucid-infrastructure',
      'lucid-metrics',
      'lucid-traffic',
      'lucid-auth',
      'lucid-rate-limit',
      'lucid-upstreams'
    ]
  }
)
