import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { buildApp } from '../../src/app.js'
import { buildTestApp, testConfig } from '../helpers/app.js'
import { createTestDb } from '../helpers/stores.js'
import { startThrowawayRedisCluster } from '../helpers/throwaway.js'
import { login } from '../helpers/identity.js'

test('on a three-node Redis Cluster the limit is exact across instances and revocations fan out', async (t) => {
  const cluster = await startThrowawayRedisCluster(t)
  if (cluster === null) return
  const env = {
    RATE_LIMIT_PUBLIC: '100',
    RATE_LIMIT_REDIS_TIMEOUT_MS: '1000',
    REDIS_CLUSTER_NODES: cluster.nodes.join(',')
  }
  const storeA = await createRedisStateStore({ clusterNodes: cluster.nodes, prefix: 'cl:', commandTimeoutMs: 2_000 })
  const storeB = await createRedisStateStore({ clusterNodes: cluster.nodes, prefix: 'cl:', commandTimeoutMs: 2_000 })
  const testDb = await createTestDb()
  const a = await buildTestApp({ db: testDb, store: { store: storeA, close: () => storeA.close() }, env })
  const b = await buildApp(testConfig(a.dataDir, env), { db: testDb.db, stateStore: storeB })
  await b.ready()
  t.after(async () => {
    await b.close()
    await a.close()
    await storeA.close()
    await storeB.close()
    await testDb.close()
  })
  assert.equal(a.app.rateLimit.limiter.mode, 'redis')
  const res = await Promise.all(
    Array.from({ length: 160 }, (_, i) =>
      (i % 2 ? a.app : b).inject({ url: '/api/v1/meta/version', remoteAddress: '203.0.113.5' })
    )
  )
  assert.equal(res.filter((r) => r.statusCode === 200).length, 100)
  assert.equal(res.filter((r) => r.statusCode === 429).length, 60)
  // Other identities hash to other slots and have their own buckets.
  for (let i = 0; i < 20; i++)
    assert.equal(
      (await a.app.inject({ url: '/api/v1/meta/version', remoteAddress: `203.0.113.${100 + i}` })).statusCode,
      200
    )
  const li = await login(a.app)
  assert.equal(
    (await b.inject({ url: '/api/v1/users/me', headers: li.auth, remoteAddress: '203.0.113.77' })).statusCode,
    200
  )
  await a.app.inject({
    method: 'POST',
    url: '/api/v1/auth/logout',
    headers: li.auth,
    remoteAddress: '203.0.113.77',
    payload: {}
  })
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(
    (await b.inject({ url: '/api/v1/users/me', headers: li.auth, remoteAddress: '203.0.113.78' })).statusCode,
    401
  )
})
