import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { request, WebSocket } from 'undici'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startEchoServer, startLucidBlocks, type LucidBlocksStandIn, type StandIn } from '../support/stand-ins.js'
import { freePort } from '../helpers/throwaway.js'
import http from 'node:http'

/** node:http sends the path and the Connection header exactly as given (URL parsers would normalise them). */
function rawRequest(
  base: string,
  path: string,
  headers: Record<string, string>
): Promise<{ statusCode: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('proxy over real sockets', () => {
  let t: TestApp
  let base: string
  let chain: LucidBlocksStandIn
  let nodes: StandIn
  let payments: StandIn
  let user: LoggedIn
  let operator: LoggedIn
  before(async () => {
    chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
    nodes = await startEchoServer({ name: 'node_management' })
    payments = await startEchoServer({ name: 'tron_payment' })
    t = await buildTestApp({
      env: {
        BLOCKCHAIN_CORE_URL: chain.url,
        NODE_SERVICE_URL: nodes.url,
        TRON_PAYMENT_URL: payments.url,
        NODE_SERVICE_TIMEOUT_MS: '500',
        TRUST_PROXY: '127.0.0.1'
      }
    })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
    user = await login(t.app)
    operator = await login(t.app, { role: 'node_operator' })
  })
  after(async () => {
    await t.close()
    await chain.close()
    await nodes.close()
    await payments.close()
  })

  test('path and query reach the upstream unchanged, with verified identity and clean headers', async () => {
    const res = await rawRequest(base, '/api/v1/wallets/w-1/transactions?limit=5&cursor=a%2Fb', {
      ...user.auth,
      'x-lucid-user-id': 'spoofed',
      'x-lucid-user-role': 'super_admin',
      'x-lucid-identity': 'forged',
      'x-request-id': 'req-abc',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=1',
      connection: 'keep-alive, x-hop-me',
      'x-hop-me': 'secret',
      'x-forwarded-for': '6.6.6.6'
    })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['x-upstream-service'], 'tron_payment')
    assert.equal(res.headers.server, undefined, 'upstream Server header removed')
    assert.equal(res.headers['x-powered-by'], undefined)
    assert.equal(res.headers['x-secret-hop'], undefined, 'header named in the upstream Connection removed')
    assert.equal(res.headers['x-upstream-own'], 'kept')
    assert.equal(res.headers['x-request-id'], 'req-abc')
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> }
    assert.equal(seen.url, '/api/v1/wallets/w-1/transactions?limit=5&cursor=a%2Fb')
    assert.equal(seen.headers['x-lucid-user-id'], user.userId)
    assert.equal(seen.headers['x-lucid-user-role'], 'user')
    assert.equal(seen.headers.authorization, undefined, "the client's bearer token is not forwarded")
    assert.equal(seen.headers['x-hop-me'], undefined)
    assert.equal(seen.headers['x-request-id'], 'req-abc')
    assert.equal(seen.headers.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
    assert.equal(seen.headers.tracestate, 'vendor=1')
    assert.equal(seen.headers['x-forwarded-proto'], 'http')
    assert.match(seen.headers['x-forwarded-host'], /^127\.0\.0\.1:\d+$/)
    assert.equal(seen.headers['x-forwarded-for'], '6.6.6.6, 127.0.0.1', 'appended to the chain of a trusted proxy')
    const jwks = createLocalJWKSet((await t.app.inject({ url: '/.well-known/jwks.json' })).json())
    const { payload } = await jwtVerify(seen.headers['x-lucid-identity'], jwks, {
      issuer: 'lucid-api-gateway',
      audience: 'tron_payment'
    })
    assert.equal(payload.sub, user.userId)
    assert.equal(payload.role, 'user')
    assert.ok((payload.exp as number) - (payload.iat as number) <= 60)
  })

  test('lucid_blocks endpoints of the contract are reachable and documented', async () => {
    const info = await request(`${base}/api/v1/chain/info`, { headers: user.auth })
    assert.equal(info.statusCode, 200)
    assert.equal(((await info.body.json()) as { network: string }).network, 'lucid_blocks')
    const block = await request(`${base}/api/v1/chain/blocks/0`, { headers: user.auth })
    assert.equal(((await block.body.json()) as { height: number }).height, 0)
    const doc = (await t.app.inject({ url: '/openapi.json' })).json()
    for (const p of [
      '/api/v1/chain/info',
      '/api/v1/chain/blocks',
      '/api/v1/chain/blocks/{block_id}',
      '/api/v1/chain/transactions',
      '/api/v1/wallets',
      '/api/v1/wallets/{wallet_id}/transactions'
    ])
      assert.ok(doc.paths[p], p)
  })

  test('authentication and roles: 401 without a token, /nodes writes need node_operator', async () => {
    assert.equal((await request(`${base}/api/v1/nodes/n1`)).statusCode, 401)
    const asUser = await request(`${base}/api/v1/nodes/n1/register`, {
      method: 'POST',
      headers: { ...user.auth, 'content-type': 'application/json' },
      body: '{}'
    })
    assert.equal(asUser.statusCode, 403)
    assert.equal(((await asUser.body.json()) as { error: { code: string } }).error.code, 'LUCID_ERR_2004')
    assert.equal(
      (await request(`${base}/api/v1/nodes/n1`, { headers: user.auth })).statusCode,
      200,
      'reads are open to users'
    )
    const asOperator = await request(`${base}/api/v1/nodes/n1/register`, {
      method: 'POST',
      headers: { ...operator.auth, 'content-type': 'application/json' },
      body: '{"x":1}'
    })
    assert.equal(asOperator.statusCode, 200)
    assert.equal(
      ((await asOperator.body.json()) as { body_text: string }).body_text,
      '{"x":1}',
      'JSON passes through unparsed'
    )
  })

  test('traversal attempts cannot leave the route prefix', async () => {
    const before = nodes.requests.length
    for (const path of [
      '/api/v1/nodes/../users/me',
      '/api/v1/nodes/%2e%2e/%2E%2E/api/v1/users/me',
      '/api/v1/nodes//etc',
      '/api/v1/nodes/a\\..\\b',
      '/api/v1/nodes/a%5c..',
      '/api/v1/nodes/a%2f..%2fb',
      '/api/v1/nodes/.%2e/x'
    ]) {
      const res = await rawRequest(base, path, user.auth)
      const body = JSON.parse(res.body) as { error?: { code: string } }
      assert.ok(res.statusCode === 400 || res.statusCode === 404, `${path} → ${res.statusCode}`)
      assert.ok(body.error !== undefined, path)
    }
    assert.equal(nodes.requests.length, before, 'nothing reached the upstream')
  })

  test('100 MiB streams up and down without buffering', async () => {
    const size = 100 * 1024 * 1024
    const chunk = Buffer.alloc(1024 * 1024, 0x5a)
    const hash = createHash('sha256')
    for (let i = 0; i < 100; i++) hash.update(chunk)
    // Live memory (heap + Buffers) after a collection, sampled while 200 MiB flow through the
    // client, the gateway and the upstream of this one process: garbage not yet collected would
    // make RSS noise. Buffering one body anywhere would add 100 MiB. (`npm test` runs with
    // --expose-gc; without it, RSS with a looser bound.)
    const gc = (globalThis as { gc?: () => void }).gc
    const live = () => {
      if (gc === undefined) return process.memoryUsage().rss
      gc()
      const m = process.memoryUsage()
      return m.heapUsed + m.arrayBuffers
    }
    const rssBefore = live()
    let peak = rssBefore
    const sampler = setInterval(() => (peak = Math.max(peak, live())), 50)
    let i = 0
    const body = new Readable({
      read() {
        this.push(i++ < 100 ? chunk : null)
      }
    })
    const res = await request(`${base}/api/v1/nodes/upload`, {
      method: 'PUT',
      headers: { ...operator.auth, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body
    })
    const seen = (await res.body.json()) as { body_bytes: number; body_sha256: string }
    assert.equal(res.statusCode, 200)
    assert.equal(seen.body_bytes, size)
    assert.equal(seen.body_sha256, hash.digest('hex'))
    const down = await request(`${base}/api/v1/nodes/big?bytes=${size}`, { headers: user.auth })
    let received = 0
    for await (const c of down.body) received += (c as Buffer).length
    clearInterval(sampler)
    assert.equal(received, size)
    const grew = (peak - rssBefore) / 1024 / 1024
    const bound = gc === undefined ? 90 : 40
    assert.ok(
      grew < bound,
      `${gc === undefined ? 'RSS' : 'live memory'} grew by ${grew.toFixed(1)} MiB while moving 200 MiB (test client included); bound ${bound} MiB`
    )
  })

  test('a declared body over 100 MiB → 413/1010 before anything is sent', async () => {
    const res = await request(`${base}/api/v1/nodes/upload`, {
      method: 'PUT',
      headers: {
        ...operator.auth,
        'content-type': 'application/octet-stream',
        'content-length': String(101 * 1024 * 1024)
      },
      body: 'x'
    }).catch((err) => err)
    if (res instanceof Error) return // the gateway answered and closed before the client finished: also a refusal
    assert.equal(res.statusCode, 413)
    assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'LUCID_ERR_1010')
  })

  test("WebSocket upgrades are authenticated and tunnelled (with the route's write role)", async () => {
    const port = Number(new URL(base).port)
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/nodes/events`)
      ws.onerror = () => resolve(-1)
      ws.onopen = () => resolve(1)
    })
    assert.equal(refused, -1, 'no token, no tunnel')
    // Node management's writes need node_operator, so its upgrades do too (issue 12 finding 7).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/nodes/events?access_token=${operator.access}`)
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send('ping')
      ws.onmessage = (e) => resolve(String(e.data))
      ws.onerror = () => reject(new Error('websocket failed'))
    })
    ws.close()
    assert.equal(reply, 'echo:ping')
    const upgrade = nodes.requests.filter((r) => r.method === 'UPGRADE').pop()!
    assert.equal(upgrade.url, '/api/v1/nodes/events', 'the token is stripped from the query')
    assert.equal(upgrade.headers['x-lucid-user-id'], operator.userId)
  })

  test('upstream timeout → 504/5006 naming the upstream; a client abort cancels the upstream request', async () => {
    const slow = await request(`${base}/api/v1/nodes/slow?ms=2000`, { headers: user.auth })
    assert.equal(slow.statusCode, 504)
    const err = ((await slow.body.json()) as { error: { code: string; details: { upstream: string } } }).error
    assert.equal(err.code, 'LUCID_ERR_5006')
    assert.equal(err.details.upstream, 'node_management')
    const ac = new AbortController()
    const pending = request(`${base}/api/v1/wallets/slow?ms=3000`, { headers: user.auth, signal: ac.signal }).catch(
      () => 'aborted'
    )
    await new Promise((r) => setTimeout(r, 300))
    ac.abort()
    assert.equal(await pending, 'aborted')
    for (let i = 0; i < 50 && !payments.aborted.some((u) => u.startsWith('/api/v1/wallets/slow')); i++)
      await new Promise((r) => setTimeout(r, 20))
    assert.ok(
      payments.aborted.some((u) => u.startsWith('/api/v1/wallets/slow')),
      'the upstream saw its client go away'
    )
  })

  test('meta/health lists upstreams; host names only for admins; meta/upstreams shows counters', async () => {
    const anon = (await t.app.inject({ url: '/api/v1/meta/health' })).json()
    assert.ok(anon.dependencies.upstreams.lucid_blocks)
    assert.equal(anon.dependencies.upstreams.lucid_blocks.hosts, undefined)
    const admin = await login(t.app, { role: 'admin' })
    const full = (await t.app.inject({ url: '/api/v1/meta/health', headers: admin.auth })).json()
    assert.equal(full.dependencies.upstreams.lucid_blocks.hosts[0].host, chain.url)
    const ups = await t.app.inject({ url: '/api/v1/meta/upstreams', headers: admin.auth })
    assert.equal(ups.statusCode, 200)
    assert.ok(ups.json().upstreams.node_management.hosts[0].requests > 0)
    assert.equal((await t.app.inject({ url: '/api/v1/meta/upstreams', headers: user.auth })).statusCode, 403)
    const metrics = (await t.app.inject({ url: '/metrics' })).body
    assert.match(metrics, /upstream_requests_total\{upstream="tron_payment",outcome="success"\} \d+/)
    assert.match(metrics, /circuit_breaker_state\{upstream="lucid_blocks",host="http:\/\/127\.0\.0\.1:\d+"\} 0/)
  })
})

test('connection refused → 503/5008', async () => {
  const dead = await freePort()
  const t = await buildTestApp({ env: { NODE_SERVICE_URL: `http://127.0.0.1:${dead}` } })
  try {
    const li = await login(t.app)
    const res = await t.app.inject({ url: '/api/v1/nodes/x', headers: li.auth })
    assert.equal(res.statusCode, 503)
    assert.equal(res.json().error.code, 'LUCID_ERR_5008')
    assert.equal(res.json().error.details.upstream, 'node_management')
  } finally {
    await t.close()
  }
})
