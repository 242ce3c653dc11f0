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

test('when the event loop lags, requests are shed with a fast 503/5008 and Retry-After; probes still answer', async () => {
  const t = await buildTestApp({ env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '20' } })
  try {
    // Start-up stalls the loop; shedding only starts 2 s after the app is ready.
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200)
    await sleep(2_000)
    // Sustained lag, as under overload: every tick of the loop is held for 60 ms.
    const lag = setInterval(() => busy(60), 1)
    let shed
    try {
      await sleep(500)
      shed = await t.app.inject({ url: '/api/v1/meta/version' })
      assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200, 'liveness is never shed')
    } finally {
      clearInterval(lag)
    }
    assert.equal(shed.statusCode, 503)
    assert.equal(shed.json().error.code, 'LUCID_ERR_5008')
    assert.equal(shed.headers['retry-after'], '1')
    await sleep(500)
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200, 'recovers once the loop is healthy')
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
    const held = Array.from({ length: 5 }, () => t.app.inject({ url: '/test/held' }))
    await sleep(100)
    const started = performance.now()
    const extra = await t.app.inject({ url: '/test/held' })
    assert.equal(extra.statusCode, 503)
    assert.equal(extra.json().error.details.reason, 'in_flight')
    assert.equal(extra.headers['retry-after'], '1')
    assert.ok(performance.now() - started < 1_000, 'refused at once, not queued')
    assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200)
    release()
    assert.deepEqual((await Promise.all(held)).map((r) => r.statusCode), [200, 200, 200, 200, 200])
    assert.equal((await t.app.inject({ url: '/api/v1/meta/version' })).statusCode, 200, 'capacity is back')
    assert.match((await t.app.inject({ url: '/metrics' })).body, /http_shed_total\{reason="in_flight"\} 1/)
  } finally {
    release()
    await t.close()
  }
})
