/**
 * Issue 12 finding 5: every new Idempotency-Key stored up to 1 MiB for 24 h with no per-user cap
 * (300 keys → 300 records in the Redis that also holds security state). Now each user has a bound
 * on records (IDEMPOTENCY_MAX_RECORDS_PER_USER) and stored bytes (IDEMPOTENCY_MAX_BYTES_PER_USER);
 * past it a new key is 429/3001 with Retry-After and never reaches the upstream, replays still
 * work, other users are unaffected, and /metrics shows the store's size. Real gateway, two
 * instances on one Redis when REDIS_URL is set, a real upstream.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startEchoServer, type StandIn } from '../support/stand-ins.js'

describe('the idempotency store is bounded per user', () => {
  let up: StandIn
  let t: TestApp
  let other: FastifyInstance
  before(async () => {
    up = await startEchoServer({ name: 'tron_payment' })
    t = await buildTestApp({
      env: {
        TRON_PAYMENT_URL: up.url,
        IDEMPOTENCY_MAX_RECORDS_PER_USER: '5',
        IDEMPOTENCY_MAX_BYTES_PER_USER: '1048576'
      }
    })
    other = await t.sibling()
  })
  after(async () => {
    await t.close()
    await up.close()
  })

  const pay = (app: FastifyInstance, who: LoggedIn, key: string, path = '/api/v1/wallets/w1/transactions') =>
    app.inject({
      method: 'POST',
      url: path,
      headers: { ...who.auth, 'content-type': 'application/json', 'idempotency-key': key },
      payload: '{"amount":1}'
    })
  const seen = (path: string) => up.requests.filter((r) => r.url === path).length

  test('past the record bound a new key is 429 on every instance and is not forwarded; replays and other users still work', async () => {
    const a = await login(t.app)
    const b = await login(t.app)
    for (let i = 0; i < 5; i++) assert.equal((await pay(i % 2 === 0 ? t.app : other, a, `rec-${i}`)).statusCode, 200)
    const before = seen('/api/v1/wallets/w1/transactions')
    for (const app of [t.app, other]) {
      const refused = await pay(app, a, `rec-new-${app === other}`)
      assert.equal(refused.statusCode, 429, refused.body)
      const { error } = refused.json()
      assert.equal(error.code, 'LUCID_ERR_3001')
      assert.deepEqual(error.details, { limit: 'idempotency_records', max: 5 })
      const retry = Number(refused.headers['retry-after'])
      assert.ok(retry > 0 && retry <= 28 * 3600, `Retry-After ${retry}`)
    }
    assert.equal(seen('/api/v1/wallets/w1/transactions'), before, 'the refused requests never reached the upstream')
    const replay = await pay(other, a, 'rec-0')
    assert.equal(replay.statusCode, 200)
    assert.equal(replay.headers['idempotent-replayed'], 'true', 'a replay is never refused')
    assert.equal((await pay(t.app, b, 'rec-0')).statusCode, 200, 'another user has their own bound')
    const keys = await t.app.stateStore.scan(`idem:${a.userId}:*`, '0', 1000)
    assert.equal(keys.keys.length, 5, 'five records stored for the user, not more')
  })

  test('past the byte bound a new key is 429 with limit idempotency_bytes', async () => {
    const c = await login(t.app)
    // 600 KB responses: the second one is stored (the upstream already acted), the third key is refused.
    const big = '/api/v1/wallets/big?bytes=600000'
    assert.equal((await pay(t.app, c, 'big-1', big)).statusCode, 200)
    assert.equal((await pay(other, c, 'big-2', big)).statusCode, 200)
    const refused = await pay(t.app, c, 'big-3', big)
    assert.equal(refused.statusCode, 429, refused.body.slice(0, 200))
    assert.deepEqual(refused.json().error.details, { limit: 'idempotency_bytes', max: 1_048_576 })
    assert.equal(seen(big), 2)
  })

  test('/metrics reports the size of the store', async () => {
    const body = (await t.app.inject({ url: '/metrics' })).body
    const records = Number(/^idempotency_store_records (\S+)$/m.exec(body)?.[1])
    const bytes = Number(/^idempotency_store_bytes (\S+)$/m.exec(body)?.[1])
    assert.ok(records >= 8, `records gauge ${records}`)
    assert.ok(bytes > 1_600_000, `bytes gauge ${bytes}`)
  })
})
