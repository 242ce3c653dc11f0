/** PostgreSQL or Redis going away under a running gateway, on throwaway servers. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createPgDb } from '../../src/data/pg-db.js'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { createMemoryStateStore } from '../../src/stores/memory-state-store.js'
import { buildTestApp } from '../helpers/app.js'
import { startThrowawayPostgres, startThrowawayRedis } from '../helpers/throwaway.js'
import { createTestDb } from '../helpers/stores.js'

test('database stopped while the gateway runs → 503/5002 envelopes, no crash, recovery when it returns', async (t) => {
  const pgServer = await startThrowawayPostgres(t)
  if (pgServer === null) return
  t.after(() => pgServer.destroy())
  const db = createPgDb({ connectionString: pgServer.url, max: 4, connectionTimeoutMs: 1_000 })
  const store = createMemoryStateStore()
  const gw = await buildTestApp({ db: { db, close: () => db.close() }, store: { store, close: () => store.close() } })
  t.after(async () => {
    await gw.close()
    await db.close().catch(() => undefined)
  })

  assert.equal((await gw.app.inject({ url: '/ready' })).statusCode, 200)
  await pgServer.stop()

  const ready = await gw.app.inject({ url: '/ready' })
  assert.equal(ready.statusCode, 503)
  const health = await gw.app.inject({ url: '/api/v1/meta/health' })
  assert.equal(health.statusCode, 503)
  assert.equal(health.json().status, 'unhealthy')
  assert.equal(health.json().dependencies.database.status, 'unhealthy')
  // A route that needs the database: an authenticated call looks up the login session.
  const token = await gw.app.tokens.issuePair({
    userId: crypto.randomUUID(),
    role: 'user',
    sid: crypto.randomUUID(),
    refreshJti: crypto.randomUUID()
  })
  const res = await gw.app.inject({
    url: '/api/v1/meta/metrics',
    headers: { authorization: `Bearer ${token.access_token}` }
  })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().error.code, 'LUCID_ERR_5002')
  assert.doesNotMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|postgres/)

  await pgServer.start()
  let recovered = false
  for (let i = 0; i < 50 && !recovered; i++) {
    recovered = (await gw.app.inject({ url: '/ready' })).statusCode === 200
    if (!recovered) await sleep(100)
  }
  assert.ok(recovered, '/ready recovers once PostgreSQL is back')
  assert.equal((await gw.app.inject({ url: '/api/v1/meta/health' })).json().status, 'healthy')
})

test('Redis stopped → meta/health degraded (200), the gateway keeps serving, and recovers', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  const store = await createRedisStateStore({ url: redis.url, prefix: 'lucid-fault:', commandTimeoutMs: 200 })
  const testDb = await createTestDb()
  const gw = await buildTestApp({ db: testDb, store: { store, close: () => store.close() } })
  t.after(async () => {
    await gw.close()
    await store.close()
    await testDb.close()
  })
  assert.equal((await gw.app.inject({ url: '/api/v1/meta/health' })).json().status, 'healthy')
  await redis.stop()
  const started = performance.now()
  const res = await gw.app.inject({ url: '/api/v1/meta/health' })
  assert.ok(performance.now() - started < 2_500, 'a dead Redis does not hang the report')
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().status, 'degraded')
  assert.equal(res.json().dependencies.state_store.status, 'unhealthy')
  assert.equal((await gw.app.inject({ url: '/api/v1/meta/info' })).statusCode, 200)
  await redis.start()
  let healthy = false
  for (let i = 0; i < 60 && !healthy; i++) {
    healthy = (await gw.app.inject({ url: '/api/v1/meta/health' })).json().status === 'healthy'
    if (!healthy) await sleep(100)
  }
  assert.ok(healthy, 'health returns to healthy when Redis is back')
})
