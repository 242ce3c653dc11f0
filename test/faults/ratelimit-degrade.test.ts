/** The limiter with Redis paused (CLIENT PAUSE) or stopped, on a throwaway Redis. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startThrowawayRedis } from '../helpers/throwaway.js'
import { createTestDb } from '../helpers/stores.js'

test('Redis paused or down (RATE_LIMIT_DEGRADED_START=last-known): requests keep flowing within the local share, never waiting past the deadline, and limits are shared again on recovery', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  const store = await createRedisStateStore({ url: redis.url, prefix: 'rl-fault:', commandTimeoutMs: 300 })
  const testDb = await createTestDb()
  const gw = await buildTestApp({
    db: testDb,
    store: { store, close: () => store.close() },
    env: {
      RATE_LIMIT_PUBLIC: '20',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '50',
      RATE_LIMIT_INSTANCE_COUNT: '2',
      // A full share for keys never seen, to show the share itself; the default start is `minimal`.
      RATE_LIMIT_DEGRADED_START: 'last-known'
    }
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
  assert.deepEqual(
    paused.map((r) => r.status),
    [...Array(10).fill(200), ...Array(4).fill(429)],
    'each of 2 instances enforces 20 ÷ 2 = 10 locally'
  )
  const worst = Math.max(...paused.map((r) => r.ms))
  // Redis is paused for 2.5 s: anything well under that shows no request waited for it (margin for a busy CI).
  assert.ok(worst < 1_000, `no request waited on the hung Redis beyond the deadline (worst ${worst.toFixed(1)} ms)`)
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
  assert.deepEqual(
    down.map((r) => r.status),
    [...Array(10).fill(200), ...Array(2).fill(429)]
  )
  assert.ok(Math.max(...down.map((r) => r.ms)) < 250)
})

test('RATE_LIMIT_FAILURE_MODE=closed refuses with 503 and =open admits while Redis is down', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  for (const mode of ['closed', 'open'] as const) {
    const store = await createRedisStateStore({ url: redis.url, prefix: `rl-${mode}:`, commandTimeoutMs: 300 })
    const gw = await buildTestApp({
      store: { store, close: () => store.close() },
      env: { RATE_LIMIT_PUBLIC: '2', RATE_LIMIT_FAILURE_MODE: mode, RATE_LIMIT_REDIS_TIMEOUT_MS: '50' }
    })
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

/**
 * Issue 14: entering degraded mode must not open an over-admission window. A client spends its
 * whole budget through Redis on instance A; Redis hangs; the client moves to B and C, which never
 * saw it. With the default start (`minimal`) B and C admit one request each beyond the refill; with
 * `last-known` each unseen instance hands out a full share (the documented worst case).
 */
for (const start of ['minimal', 'last-known'] as const) {
  test(`RATE_LIMIT_DEGRADED_START=${start}: an identity that moves instances when Redis hangs gets ${start === 'minimal' ? 'at most one request per instance beyond the refill' : 'a share per unseen instance'}`, async (t) => {
    const redis = await startThrowawayRedis(t)
    if (redis === null) return
    const testDb = await createTestDb()
    const env = {
      RATE_LIMIT_PUBLIC: '30',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '50',
      RATE_LIMIT_INSTANCE_COUNT: '3',
      ...(start === 'minimal' ? {} : { RATE_LIMIT_DEGRADED_START: start })
    }
    const gws: TestApp[] = []
    const stores: Awaited<ReturnType<typeof createRedisStateStore>>[] = []
    for (let i = 0; i < 3; i++) {
      const store = await createRedisStateStore({ url: redis.url, prefix: `rl-move-${start}:`, commandTimeoutMs: 300 })
      stores.push(store)
      gws.push(await buildTestApp({ db: testDb, store: { store, close: () => store.close() }, env }))
    }
    t.after(async () => {
      for (const gw of gws) await gw.close()
      for (const store of stores) await store.close()
      await testDb.close()
    })
    const ip = '198.51.100.50'
    const send = async (i: number) =>
      (await gws[i].app.inject({ url: '/api/v1/meta/version', remoteAddress: ip })).statusCode
    const spent = []
    for (let n = 0; n < 31; n++) spent.push(await send(0))
    assert.deepEqual(spent, [...Array(30).fill(200), 429], 'the budget of 30 is spent through Redis on instance A')

    await redis.pause(3_000)
    const started = Date.now()
    let admitted = 0
    for (let n = 0; n < 15; n++) for (const i of [1, 2, 0]) admitted += Number((await send(i)) === 200)
    // B and C asked Redis and found it hung. A may not have asked at all: its refusal of this
    // client is repeated from the denial cache (RATE_LIMIT_DENIAL_CACHE_MS) until it can end.
    for (const gw of gws.slice(1)) assert.equal(gw.app.rateLimit.limiter.mode, 'degraded')
    const cachedOnA = /^rate_limit_cached_denials_total (\d+)/m.exec(
      (await gws[0].app.inject({ url: '/metrics' })).body
    )
    assert.ok(
      gws[0].app.rateLimit.limiter.mode === 'degraded' || Number(cachedOnA?.[1]) > 0,
      'A either found Redis hung or answered this client from its denial cache'
    )
    // What refilled meanwhile: one request per 2 s for the whole limit (30/min), each instance a third.
    const refill = Math.floor((Date.now() - started) / 2_000) + 1
    const fresh = await gws[1].app.inject({ url: '/api/v1/meta/version', remoteAddress: '198.51.100.51' })
    assert.equal(fresh.statusCode, 200, 'a client no instance has seen is still served')
    if (start === 'minimal')
      assert.ok(admitted <= refill + 2, `admitted ${admitted} while degraded; refill ${refill} + 1 on each of B and C`)
    else assert.ok(admitted >= 20, `last-known: B and C each hand out their share of 10 (admitted ${admitted})`)
  })
}
