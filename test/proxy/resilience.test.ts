import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { startEchoServer } from '../support/stand-ins.js'
import { freePort } from '../helpers/throwaway.js'

test('breaker per host: open → fast 503/5007 without touching the upstream → half-open → closed (injected clock)', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  let clock = Date.now()
  const gw = await buildTestApp({ now: () => clock, env: { NODE_SERVICE_URL: up.url } })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const li = await login(gw.app, { role: 'node_operator' })
  const post = () =>
    gw.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/x',
      headers: { ...li.auth, 'content-type': 'application/json' },
      payload: '{}'
    })
  up.setHealthy(false, true)
  for (let i = 0; i < 5; i++) assert.equal((await post()).statusCode, 503, 'the upstream’s own 503 passes through')
  const hits = up.requests.length
  const started = performance.now()
  const open = await post()
  const ms = performance.now() - started
  assert.equal(open.statusCode, 503)
  assert.equal(open.json().error.code, 'LUCID_ERR_5007')
  assert.equal(open.json().error.details.upstream, 'node_management')
  assert.equal(open.headers['retry-after'], '30')
  // The proof of "fast" is that the upstream was not touched (below); the time bound is only a
  // generous guard against waiting on an upstream deadline (30 s), since a busy 2-core CI machine
  // can delay any single request by tens of milliseconds.
  assert.ok(ms < 2_000, `answered in ${ms.toFixed(1)} ms`)
  assert.equal(up.requests.length, hits, 'the upstream was not touched')
  assert.match(
    (await gw.app.inject({ url: '/metrics' })).body,
    /circuit_breaker_state\{upstream="node_management",host="[^"]+"\} 2/
  )

  up.setHealthy(true)
  clock += 30_000
  assert.equal((await post()).statusCode, 200, 'half-open admits a probe')
  assert.equal((await post()).statusCode, 200)
  assert.match(
    (await gw.app.inject({ url: '/metrics' })).body,
    /circuit_breaker_state\{upstream="node_management",host="[^"]+"\} 0/
  )
})

test('two hosts, one down: traffic moves to the healthy one', async (t) => {
  const up = await startEchoServer({ name: 'tron_payment' })
  const dead = `http://127.0.0.1:${await freePort()}`
  const gw = await buildTestApp({ env: { TRON_PAYMENT_URL: `${dead},${up.url}` } })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const li = await login(gw.app)
  const statuses = []
  for (let i = 0; i < 20; i++)
    statuses.push((await gw.app.inject({ url: `/api/v1/wallets/w${i}`, headers: li.auth })).statusCode)
  assert.deepEqual(new Set(statuses), new Set([200]), 'GETs that hit the dead host are retried on the other')
  const hosts = gw.app.upstreams.get('tron_payment')!.snapshot()
  assert.equal(hosts.find((h) => h.host === dead)?.state, 'open')
  assert.equal(up.requests.filter((r) => r.url.startsWith('/api/v1/wallets/w')).length, 20)
  const post = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/wallets',
    headers: { ...li.auth, 'content-type': 'application/json' },
    payload: '{}'
  })
  assert.equal(post.statusCode, 200, 'with the dead host open, even a POST goes to the live one')
})

test('retries only for idempotent requests, on 502/503/504, within the budget', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  // A high breaker threshold keeps the circuit closed so that only retry behaviour is measured.
  const gw = await buildTestApp({ env: { NODE_SERVICE_URL: up.url, UPSTREAM_BREAKER_FAILURES: '1000' } })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const li = await login(gw.app, { role: 'node_operator' })
  const count = (path: string) => up.requests.filter((r) => r.url === path).length
  await gw.app.inject({ url: '/api/v1/nodes/status/503', headers: li.auth })
  assert.equal(count('/api/v1/nodes/status/503'), 3, 'a GET is tried 3 times on 503')
  await gw.app.inject({ url: '/api/v1/nodes/a/status/500', headers: li.auth })
  assert.equal(count('/api/v1/nodes/a/status/500'), 1, 'a 500 is not retried')
  await gw.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/b/status/503',
    headers: { ...li.auth, 'content-type': 'application/json' },
    payload: '{}'
  })
  assert.equal(count('/api/v1/nodes/b/status/503'), 1, 'a POST without Idempotency-Key is never retried')
  await gw.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/c/status/503',
    headers: { ...li.auth, 'content-type': 'application/json', 'idempotency-key': 'k-1' },
    payload: '{}'
  })
  assert.equal(count('/api/v1/nodes/c/status/503'), 3, 'a POST with Idempotency-Key may be retried')
  // The budget: many failing GETs do not triple the load.
  for (let i = 0; i < 30; i++) await gw.app.inject({ url: `/api/v1/nodes/d${i}/status/503`, headers: li.auth })
  const total = up.requests.filter((r) => r.url.startsWith('/api/v1/nodes/d')).length
  assert.ok(total <= 30 + 10, `30 requests caused ${total} upstream calls: retries capped by the budget (not 90)`)
  assert.match(
    (await gw.app.inject({ url: '/metrics' })).body,
    /upstream_retries_total\{upstream="node_management"\} \d+/
  )
})

test('Idempotency-Key: replay across two gateway instances, 422 on a different body, 409 while in flight', async (t) => {
  const up = await startEchoServer({ name: 'tron_payment' })
  const gw = await buildTestApp({ env: { TRON_PAYMENT_URL: up.url } })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const other = await gw.sibling()
  const li = await login(gw.app)
  const pay = (app: typeof other, key: string, body: string, path = '/api/v1/wallets/w1/transactions') =>
    app.inject({
      method: 'POST',
      url: path,
      headers: { ...li.auth, 'content-type': 'application/json', 'idempotency-key': key },
      payload: body
    })
  const first = await pay(gw.app, 'pay-1', '{"amount":5}')
  assert.equal(first.statusCode, 200)
  assert.equal(first.headers['idempotent-replayed'], undefined)
  const again = await pay(other, 'pay-1', '{"amount":5}')
  assert.equal(again.statusCode, 200)
  assert.equal(again.headers['idempotent-replayed'], 'true')
  assert.equal(again.body, first.body, 'the stored response, byte for byte')
  assert.equal(
    up.requests.filter((r) => r.url === '/api/v1/wallets/w1/transactions').length,
    1,
    'the upstream saw one payment'
  )
  const changed = await pay(other, 'pay-1', '{"amount":6}')
  assert.equal(changed.statusCode, 422)
  const slow = pay(gw.app, 'pay-2', '{}', '/api/v1/wallets/slow?ms=500')
  await new Promise((r) => setTimeout(r, 150))
  const concurrent = await pay(other, 'pay-2', '{}', '/api/v1/wallets/slow?ms=500')
  assert.equal(concurrent.statusCode, 409)
  assert.equal((await slow).statusCode, 200)
  const tooBig = await pay(gw.app, 'pay-3', JSON.stringify({ x: 'y'.repeat(1024 * 1024) }))
  assert.equal(tooBig.statusCode, 413)
  assert.match(
    (await other.inject({ url: '/metrics' })).body,
    /upstream_idempotent_replays_total\{upstream="tron_payment"\} 1/,
    'counted by the instance that replayed'
  )
})

test('active health checks feed the breaker and meta/health', async (t) => {
  const up = await startEchoServer({ name: 'lucid_blocks' })
  const gw = await buildTestApp({ env: { BLOCKCHAIN_CORE_URL: up.url } })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const client = gw.app.upstreams.get('lucid_blocks')!
  await client.checkHealth()
  assert.equal(client.snapshot()[0].last_check?.ok, true)
  up.setHealthy(false)
  for (let i = 0; i < 5; i++) await client.checkHealth()
  assert.equal(client.snapshot()[0].state, 'open')
  const health = (await gw.app.inject({ url: '/api/v1/meta/health' })).json()
  assert.equal(health.status, 'degraded')
  assert.equal(health.dependencies.upstreams.lucid_blocks.status, 'unhealthy')
})
