import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestApp } from '../helpers/app.js'

function busy(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // an overloaded process: the loop gets no time
  }
}

test('a short stall is served; sustained lag is shed with a fast 503/5008 + Retry-After; probes answer', async () => {
  const t = await buildTestApp({ env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '20', LOAD_SHED_SUSTAIN_MS: '400' } })
  try {
    // Start-up stalls the loop; shedding only starts 2 s after the app is ready.
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200)
    await sleep(2_000)
    // A burst's worth of lag (150 ms, under LOAD_SHED_SUSTAIN_MS) is not overload.
    let lag = setInterval(() => busy(60), 1)
    await sleep(150)
    clearInterval(lag)
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200, 'a short stall is served')
    await sleep(200)
    // Sustained lag, as under overload: every tick of the loop is held for 60 ms, for a second.
    lag = setInterval(() => busy(60), 1)
    let shed
    try {
      await sleep(1_000)
      shed = await t.app.inject({ url: '/api/v1/meta/version' })
      assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200, 'liveness is never shed')
    } finally {
      clearInterval(lag)
    }
    assert.equal(shed.statusCode, 503)
    assert.equal(shed.json().error.code, 'LUCID_ERR_5008')
    assert.equal(shed.json().error.details.reason, 'overloaded')
    assert.equal(shed.headers['retry-after'], '1')
    await sleep(500)
    assert.equal(
      (await t.app.inject({ url: '/api/v1/meta/version' })).statusCode,
      200,
      'recovers once the loop is healthy'
    )
  } finally {
    await t.close()
  }
})

test('LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS=0 turns shedding off', async () => {
  const t = await buildTestApp({ env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } })
  try {
    const lag = setInterval(() => busy(60), 1)
    let res
    try {
      await sleep(400)
      res = await t.app.inject({ url: '/api/v1/meta/version' })
    } finally {
      clearInterval(lag)
    }
    assert.equal(res.statusCode, 200)
  } finally {
    await t.close()
  }
})

test('above LOAD_SHED_MAX_IN_FLIGHT new requests get an immediate 503; in-flight ones finish; probes answer', async () => {
  let release: () => void = () => undefined
  const gate = new Promise<void>((r) => (release = r))
  const t = await buildTestApp({
    env: { LOAD_SHED_MAX_IN_FLIGHT: '5' },
    extraRoutes: (app) => {
      app.get('/test/held', async () => {
        await gate
        return { ok: true }
      })
    }
  })
  try {
    // Five clients, one request each: the per-client share (a quarter of the cap) is not the bound here.
    const held = Array.from({ length: 5 }, (_, i) =>
      t.app.inject({ url: '/test/held', remoteAddress: `198.51.100.${i + 1}` })
    )
    await sleep(100)
    const started = performance.now()
    const extra = await t.app.inject({ url: '/test/held', remoteAddress: '198.51.100.9' })
    assert.equal(extra.statusCode, 503)
    assert.equal(extra.json().error.details.reason, 'in_flight')
    assert.equal(extra.headers['retry-after'], '1')
    assert.ok(performance.now() - started < 1_000, 'refused at once, not queued')
    assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200)
    release()
    assert.deepEqual(
      (await Promise.all(held)).map((r) => r.statusCode),
      [200, 200, 200, 200, 200]
    )
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200, 'capacity is back')
    assert.match((await t.app.inject({ url: '/metrics' })).body, /http_shed_total\{reason="in_flight"\} 1/)
  } finally {
    release()
    await t.close()
  }
})

test('one client beyond its share waits in its own queue and is served; other clients are not held up', async () => {
  let release: () => void = () => undefined
  const gate = new Promise<void>((r) => (release = r))
  const t = await buildTestApp({
    env: { LOAD_SHED_MAX_IN_FLIGHT: '8', LOAD_SHED_MAX_IN_FLIGHT_PER_CLIENT: '2', LOAD_SHED_CLIENT_QUEUE: '3' },
    extraRoutes: (app) => {
      app.get('/test/held', async () => {
        await gate
        return { ok: true }
      })
    }
  })
  try {
    const mine = Array.from({ length: 5 }, () => t.app.inject({ url: '/test/held', remoteAddress: '203.0.113.7' }))
    await sleep(100)
    // 2 in progress, 3 queued: the sixth has nowhere to wait.
    const over = await t.app.inject({ url: '/test/held', remoteAddress: '203.0.113.7' })
    assert.equal(over.statusCode, 429)
    assert.equal(over.json().error.code, 'LUCID_ERR_3001')
    assert.equal(over.json().error.details.reason, 'client_queue_full')
    assert.equal(over.headers['retry-after'], '1')
    const other = t.app.inject({ url: '/api/v1/meta/version', remoteAddress: '203.0.113.8' })
    assert.equal((await other).statusCode, 200, 'another client is admitted at once')
    release()
    const statuses = (await Promise.all(mine)).map((r) => r.statusCode)
    assert.deepEqual(statuses, [200, 200, 200, 200, 200], 'the queued ones are served, none shed')
  } finally {
    release()
    await t.close()
  }
})
