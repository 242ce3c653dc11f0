/** The limiter with Redis paused (CLIENT PAUSE) or stopped, on a throwaway Redis. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { buildTestApp } from '../helpers/app.js'
import { startThrowawayRedis } from '../helpers/throwaway.js'
import { createTestDb } from '../helpers/stores.js'

test('Redis paused or down: requests keep flowing within the local share, never waiting past the deadline, and limits are shared again on recovery', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  const store = await createRedisStateStore({ url: redis.url, prefix: 'rl-fault:', commandTimeoutMs: 300 })
  const testDb = await createTestDb()
  const gw = await buildTestApp({
    db: testDb,
    store: { store, close: () => store.close() },
    env: { RATE_LIMIT_PUBLIC: '20', RATE_LIMIT_REDIS_TIMEOUT_MS: '50', RATE_LIMIT_INSTANCE_COUNT: '2' }
  })
  t.after(async () => {
    await gw.close()
    await store.close()
    await testDb.close()
  })
  const get = async (ip: string) => {
    const started = performance.now()
    const res = await gw.app.inject({ url: '/api/v1/meta/version', remoteAddress: ip })
    return { status: res.statusCode, ms: performance.now() - started }
  }

  assert.equal((await get('198.51.100.1')).status, 200)
  assert.equal(gw.app.rateLimit.limiter.mode, 'redis')

  await redis.pause(2_500)
  const paused = []
  for (let i = 0; i < 14; i++) paused.push(await get('198.51.100.2'))
  assert.equal(gw.app.rateLimit.limiter.mode, 'degraded')
  assert.deepEqual(paused.map((r) => r.status), [...Array(10).fill(200), ...Array(4).fill(429)], 'each of 2 instances enforces 20 ÷ 2 = 10 locally')
  const worst = Math.max(...paused.map((r) => r.ms))
  assert.ok(worst < 250, `no request waited on the hung Redis beyond the deadline (worst ${worst.toFixed(1)} ms)`)
  const health = (await gw.app.inject({ url: '/api/v1/meta/health' })).json()
  assert.equal(health.status, 'degraded')
  assert.equal(health.dependencies.rate_limiter.mode, 'degraded')
  assert.match((await gw.app.inject({ url: '/metrics' })).body, /rate_limit_degraded 1/)

  await sleep(2_800)
  let recovered = false
  for (let i = 0; i < 40 && !recovered; i++) {
    await get('198.51.100.3')
    recovered = gw.app.rateLimit.limiter.mode === 'redis'
    if (!recovered) await sleep(100)
  }
  assert.ok(recovered, 'back to shared limits once Redis answers')

  await redis.stop()
  const down = []
  for (let i = 0; i < 12; i++) down.push(await get('198.51.100.4'))
  assert.deepEqual(down.map((r) => r.status), [...Array(10).fill(200), ...Array(2).fill(429)])
  assert.ok(Math.max(...down.map((r) => r.ms)) < 250)
})

test('RATE_LIMIT_FAILURE_MODE=closed refuses with 503 and =open admits while Redis is down', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  for (const mode of ['closed', 'open'] as const) {
    const store = await createRedisStateStore({ url: redis.url, prefix: `rl-${mode}:`, commandTimeoutMs: 300 })
    const gw = await buildTestApp({ store: { store, close: () => store.close() }, env: { RATE_LIMIT_PUBLIC: '2', RATE_LIMIT_FAILURE_MODE: mode, RATE_LIMIT_REDIS_TIMEOUT_MS: '50' } })
    try {
      if (mode === 'open') await redis.stop()
      else await redis.pause(1_500)
      const statuses = []
      for (let i = 0; i < 4; i++) statuses.push((await gw.app.inject({ url: '/api/v1/meta/version' })).statusCode)
      assert.deepEqual(statuses, mode === 'closed' ? [503, 503, 503, 503] : [200, 200, 200, 200], mode)
    } finally {
      await gw.close()
      await store.close()
    }
    await sleep(1_600)
  }
})
