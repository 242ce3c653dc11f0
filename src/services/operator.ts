/**
 * The services behind the operator endpoints (issue 18, /api/v1/meta): the limits in force with
 * the most limited identities, the chain sync status, and the read-only operations repository
 * (job runs, anchor backlog).
 */
import type { Config } from '../config.js'
import type { Db } from '../data/db.js'
import { createOperationsRepository, type OperationsRepository } from '../data/repositories/operations.js'
import type { ChainRepository } from '../data/repositories/chain.js'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import type { Limiter } from '../ratelimit/limiter.js'
import { defaultRules } from '../ratelimit/rules.js'
import { createLimitsOverview, type LimitsOverview } from './limits-overview.js'
import { createChainStatus, type ChainStatusService } from './chain-status.js'
import type { TrafficRecorder } from './traffic.js'

/** Window of the traffic history the "most limited" view counts refusals in, seconds. */
const REFUSALS_WINDOW_S = 300

export interface OperatorServices {
  limits: LimitsOverview
  chainStatus: ChainStatusService
  operations: OperationsRepository
}

export interface OperatorDeps {
  db: Db
  config: Pick<Config, 'rateLimit' | 'chainSyncIntervalMs'>
  limiter: Limiter
  traffic: Pick<TrafficRecorder, 'report'>
  chainRepo: ChainRepository
  chainClient: () => UpstreamClient | undefined
}

export function createOperatorServices(d: OperatorDeps): OperatorServices {
  const cfg = d.config.rateLimit
  const bps = cfg.bandwidthBytesPerS
  const operations = createOperationsRepository(d.db)
  const limits = createLimitsOverview({
    limiter: d.limiter,
    enabled: cfg.enabled,
    failureMode: cfg.failureMode,
    tiers: cfg,
    rules: [...defaultRules(cfg), ...cfg.rules],
    bandwidth: { name: 'chunk_bandwidth', limit: bps, periodMs: 1_000, burst: bps },
    recentlyRefused: () => d.traffic.report(REFUSALS_WINDOW_S).limited
  })
  const chainStatus = createChainStatus({
    localHeight: () => d.chainRepo.chainHeight(),
    operations,
    client: d.chainClient,
    syncIntervalMs: d.config.chainSyncIntervalMs
  })
  return { limits, chainStatus, operations }
}
