import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.js'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { buildTestApp, testConfig } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { startThrowawayRedis } from '../helpers/throwaway.js'
import { createTestDb } from '../helpers/stores.js'

test('with Redis down, a logout on one instance is still refused on the other within about a second (database is authoritative)', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  const testDb = await createTestDb()
  const storeA = await createRedisStateStore({ url: redis.url, prefix: 'rv:', commandTimeoutMs: 200 })
  const storeB = await createRedisStateStore({ url: redis.url, prefix: 'rv:', commandTimeoutMs: 200 })
  const a = await buildTestApp({ db: testDb, store: { store: storeA, close: () => storeA.close() } })
  const b = await buildApp(testConfig(a.dataDir), { db: testDb.db, stateStore: storeB })
  await b.ready()
  t.after(async () => {
    await b.close()
    await a.close()
    await storeA.close()
    await storeB.close()
    await testDb.close()
  })
  const li = await login(a.app)
  assert.equal((await b.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode, 200)
  await redis.stop()
  const out = await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: li.auth, payload: {} })
  assert.equal(out.statusCode, 200, 'logout works without Redis')
  const started = Date.now()
  let refused = false
  while (!refused && Date.now() - started < 4_000) {
    refused = (await b.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode === 401
    if (!refused) await sleep(25)
  }
  const ms = Date.now() - started
  assert.ok(refused, 'instance B refuses the revoked token')
  assert.ok(ms < 2_500, `within ${ms} ms (poll interval 1 s)`)
})
