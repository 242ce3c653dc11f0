import type { Config } from '../config.js'
import type { StateStore } from './state-store.js'
import { createMemoryStateStore } from './memory-state-store.js'

/**
 * Redis Cluster when REDIS_CLUSTER_NODES is set, Redis when REDIS_URL is set, otherwise the
 * in-process store (standalone mode).
 */
export async function openStateStore(
  config: Pick<Config, 'redisUrl' | 'redisClusterNodes' | 'stateKeyPrefix' | 'redisCommandTimeoutMs'>,
  onError?: (err: Error) => void
): Promise<StateStore> {
  if (config.redisUrl === undefined && config.redisClusterNodes.length === 0) return createMemoryStateStore()
  // Loaded only with Redis configured: ioredis is ~20 MB of an idle embedded gateway (issue 13).
  const { createRedisStateStore } = await import('./redis-state-store.js')
  return createRedisStateStore({
    url: config.redisUrl,
    clusterNodes: config.redisClusterNodes,
    prefix: config.stateKeyPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    onError
  })
}
