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
