/**
 * Decorates the app with `services` (src/services/index.ts) and registers every job they return,
 * from that one list.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createServices, type Services } from '../services/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

export default fp(
  async function servicesPlugin(app: FastifyInstance): Promise<void> {
    const { services, jobs } = createServices({
      db: app.db, repos: app.repos, upstreams: app.upstreams, config: app.config, now: app.now, log: app.log
    })
    app.decorate('services', services)
    for (const job of jobs) app.jobs.define(job)
    app.addHook('onReady', async () => {
      await services.volumes.init().catch((err: Error) => app.log.error({ err }, 'could not register the system volumes'))
    })
  },
  { name: 'lucid-services', dependencies: ['lucid-infrastructure', 'lucid-auth', 'lucid-upstreams'] }
)
