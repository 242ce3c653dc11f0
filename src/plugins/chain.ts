/** The local copy of lucid_blocks: repository, sync service and its job (issue 7). */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createChainRepository, type ChainRepository } from '../data/repositories/chain.js'
import { createChainSync, type ChainSync } from '../chain/sync.js'

declare module 'fastify' {
  interface FastifyInstance {
    chain: { repo: ChainRepository; sync: ChainSync }
  }
}

export default fp(
  async function chainPlugin(app: FastifyInstance): Promise<void> {
    const repo = createChainRepository(app.db)
    const sync = createChainSync({ db: app.db, repo, client: () => app.upstreams.get('lucid_blocks'), log: app.log })
    app.decorate('chain', { repo, sync })
    if (app.config.chainSyncIntervalMs > 0) {
      app.jobs.define({ name: 'chain-sync', everyMs: app.config.chainSyncIntervalMs, leaseMs: 5 * 60_000, run: async (signal) => void (await sync.run(signal)) })
    }
  },
  { name: 'lucid-chain', dependencies: ['lucid-infrastructure', 'lucid-upstreams'] }
)
