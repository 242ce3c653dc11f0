/**
 * Issue 12 finding 7: `X-HTTP-Method-Override: DELETE` on a GET reached node management past the
 * write-role check, and X-Real-IP, X-Original-URL and X-Forwarded-Host variants were forwarded.
 * They are stripped before any decision and never forwarded; X-Forwarded-* are re-set from the
 * gateway's own view. WebSocket upgrades need the route's write role and pass the same admission
 * as requests (allowed hosts, rate limits, load shedding). Real upstream on a loopback port.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startEchoServer, type StandIn } from '../support/stand-ins.js'
import { rawUpgrade } from './raw-upgrade.js'

const SPOOFED: Record<string, string> = {
  'x-http-method-override': 'DELETE',
  'x-http-method': 'DELETE',
  'x-method-override': 'DELETE',
  'x-real-ip': '6.6.6.6',
  'x-original-url': '/admin/delete-all',
  'x-rewrite-url': '/admin/delete-all',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': '/admin',
  'x-forwarded-server': 'evil.example',
  'x-forwarded-for': '6.6.6.6',
  forwarded: 'for=6.6.6.6;host=evil.example;proto=https',
  'true-client-ip': '6.6.6.6'
}

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('spoofable request headers', () => {
  let gw: TestApp
  let nodes: StandIn
  let port: number
  let user: LoggedIn
  let operator: LoggedIn
  before(async () => {
    nodes = await startEchoServer({ name: 'node_management' })
    gw = await buildTestApp({
      env: { NODE_SERVICE_URL: nodes.url, ALLOWED_HOSTS: '127.0.0.1,localhost', RATE_LIMIT_NODE_OPERATOR: '1000' },
      contract: false,
      // A gateway route that shows what every handler sees of the request headers.
      extraRoutes: (app) => void app.get('/test/headers', async (request) => Object.keys(request.headers))
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    port = (gw.app.server.address() as { port: number }).port
    user = await login(gw.app)
    operator = await login(gw.app, { role: 'node_operator' })
  })
  after(async () => {
    await gw.close()
    await nodes.close()
  })

  test('a GET with method overrides stays a GET upstream; no spoofable header reaches it', async () => {
    const before = nodes.requests.length
    const res = await get(port, '/api/v1/nodes/n-1', { ...user.auth, ...SPOOFED })
    assert.equal(res.status, 200, res.body)
    const seen = nodes.requests.slice(before)
    assert.equal(seen.length, 1)
    assert.equal(seen[0].method, 'GET')
    const h = seen[0].headers
    for (const name of [
      'x-http-method-override',
      'x-http-method',
      'x-method-override',
      'x-real-ip',
      'x-original-url',
      'x-rewrite-url',
      'x-forwarded-port',
      'x-forwarded-prefix',
      'x-forwarded-server',
      'forwarded',
      'true-client-ip'
    ]) {
      assert.equal(h[name], undefined, `${name} is not forwarded`)
    }
    assert.equal(h['x-forwarded-host'], `127.0.0.1:${port}`, "the gateway's own view of the host")
    assert.equal(h['x-forwarded-proto'], 'http')
    assert.equal(h['x-forwarded-for'], '127.0.0.1', 'an untrusted peer cannot extend the chain')
  })

  test("the gateway's own handlers never see them either", async () => {
    const res = await get(port, '/test/headers', SPOOFED)
    assert.equal(res.status, 200)
    const names = JSON.parse(res.body) as string[]
    for (const name of Object.keys(SPOOFED)) assert.ok(!names.includes(name), `${name} stripped before any hook`)
  })

  test('a WebSocket upgrade to node management needs its write role (node_operator)', async () => {
    const refused = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${user.access}`)
    assert.equal(refused.status, 403)
    assert.equal(JSON.parse(refused.body).error.code, 'LUCID_ERR_2004')
    assert.deepEqual(refused.headers['x-content-type-options'], ['nosniff'])
    const ok = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`)
    assert.equal(ok.status, 101)
  })

  test('an upgrade with a Host outside ALLOWED_HOSTS is refused with 400', async () => {
    const res = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`, { host: 'evil.example' })
    assert.equal(res.status, 400)
    assert.equal(JSON.parse(res.body).error.code, 'LUCID_ERR_1001')
  })

  test('an upgrade with a path trick is refused with 400, like a request', async () => {
    const res = await rawUpgrade(port, `/api/v1/nodes/%2e%2e/events?access_token=${operator.access}`)
    assert.equal(res.status, 400)
  })
})

describe('upgrades pass rate limits and load shedding', () => {
  test("upgrades count against the user's tier and get 429/3001 with Retry-After when it is spent", async (t) => {
    const nodes = await startEchoServer({ name: 'node_management' })
    const gw = await buildTestApp({
      env: { NODE_SERVICE_URL: nodes.url, RATE_LIMIT_NODE_OPERATOR: '3' },
      contract: false
    })
    t.after(async () => {
      await gw.close()
      await nodes.close()
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (gw.app.server.address() as { port: number }).port
    const operator = await login(gw.app, { role: 'node_operator' })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`)
      statuses.push(res.status)
      if (res.status === 429) {
        assert.equal(JSON.parse(res.body).error.code, 'LUCID_ERR_3001')
        assert.ok(Number(res.headers['retry-after']?.[0]) >= 1)
        assert.match(String(res.headers['ratelimit-policy']), /^"node_operator";q=3/)
      }
    }
    assert.deepEqual(statuses, [101, 101, 101, 429])
  })

  test('an upgrade is shed like a request when the in-flight cap is full', async (t) => {
    const nodes = await startEchoServer({ name: 'node_management' })
    const gw = await buildTestApp({
      env: { NODE_SERVICE_URL: nodes.url, LOAD_SHED_MAX_IN_FLIGHT: '1' },
      contract: false
    })
    t.after(async () => {
      await gw.close()
      await nodes.close()
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (gw.app.server.address() as { port: number }).port
    const operator = await login(gw.app, { role: 'node_operator' })
    // One slow proxied request holds the only slot.
    const slow = get(port, '/api/v1/nodes/slow?ms=1500', operator.auth)
    await new Promise((r) => setTimeout(r, 300))
    const res = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`)
    assert.equal(res.status, 503)
    assert.equal(JSON.parse(res.body).error.code, 'LUCID_ERR_5008')
    assert.ok(res.headers['retry-after'] !== undefined)
    assert.equal((await slow).status, 200)
    const after = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`)
    assert.equal(after.status, 101, 'admitted once the slot is free')
  })
})
