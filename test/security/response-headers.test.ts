/**
 * Issue 12 finding 6: upstream response headers reached clients unfiltered — Set-Cookie for any
 * Domain, `Access-Control-Allow-Origin: *`, X-RateLimit-*, a Content-Security-Policy replacing the
 * gateway's — and a WebSocket 101 relayed the upstream's headers verbatim. A real upstream on a
 * loopback port sends all of them; the client must see the gateway's own instead.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { WebSocketServer } from 'ws'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { API_CSP } from '../../src/plugins/http-hygiene.js'
import { rawUpgrade } from './raw-upgrade.js'

const HOSTILE: Record<string, string | string[]> = {
  'set-cookie': ['session=stolen; Domain=.example.com; Path=/', 'tracker=1'],
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': '*',
  'x-ratelimit-limit': '999999',
  'x-ratelimit-remaining': '999999',
  ratelimit: '"evil";r=999999;t=0',
  'ratelimit-policy': '"evil";q=999999;w=1',
  'retry-after': '3600',
  'content-security-policy': "default-src *; script-src 'unsafe-inline' *",
  'strict-transport-security': 'max-age=0',
  'x-frame-options': 'ALLOWALL',
  'x-content-type-options': 'none',
  'referrer-policy': 'unsafe-url',
  'clear-site-data': '"*"',
  'x-upstream-own': 'kept'
}

async function startHostileUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health')
      return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}')
    const busy = (req.url ?? '').endsWith('/busy')
    res.writeHead(busy ? 503 : 200, {
      ...HOSTILE,
      'retry-after': busy ? '7' : '3600',
      'content-type': 'application/json'
    })
    res.end('{"ok":true}')
  })
  const wss = new WebSocketServer({ noServer: true })
  wss.on('headers', (headers) => {
    headers.push(
      'Set-Cookie: ws=stolen; Domain=.example.com',
      'Access-Control-Allow-Origin: *',
      'Content-Security-Policy: default-src *',
      'X-Powered-By: ws',
      'X-Frame-Options: ALLOWALL'
    )
  })
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(m)))
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        wss.close()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

describe('response-header policy of proxied answers', () => {
  let gw: TestApp
  let upstream: Awaited<ReturnType<typeof startHostileUpstream>>
  let dir: string
  let base: string
  let port: number
  let operator: LoggedIn
  const ORIGIN = 'https://app.example'
  before(async () => {
    upstream = await startHostileUpstream()
    dir = await mkdtemp(path.join(tmpdir(), 'lucid-routes-'))
    const routes = path.join(dir, 'routes.json')
    // The wallets route opts in to cookies; node management keeps the default (none).
    await writeFile(
      routes,
      JSON.stringify({ routes: [{ prefix: '/api/v1/wallets', upstream: 'tron_payment', allowSetCookie: true }] })
    )
    gw = await buildTestApp({
      env: {
        NODE_SERVICE_URL: upstream.url,
        TRON_PAYMENT_URL: upstream.url,
        PROXY_ROUTES_FILE: routes,
        CORS_ORIGINS: ORIGIN
      },
      contract: false
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    port = (gw.app.server.address() as { port: number }).port
    base = `http://127.0.0.1:${port}`
    operator = await login(gw.app, { role: 'node_operator' })
  })
  after(async () => {
    await gw.close()
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('cookies, CORS, rate-limit and security headers of the upstream never reach the client', async () => {
    const res = await request(`${base}/api/v1/nodes/n-1`, { headers: { ...operator.auth, origin: ORIGIN } })
    await res.body.dump()
    assert.equal(res.statusCode, 200)
    const h = res.headers
    assert.equal(h['set-cookie'], undefined, 'Set-Cookie dropped by default')
    assert.equal(h['access-control-allow-origin'], ORIGIN, "the gateway's CORS answer, not the upstream's *")
    assert.equal(h['access-control-expose-headers']?.includes('X-Request-ID'), true)
    assert.equal(h['x-ratelimit-limit'], '1000000', "the gateway's own limit")
    assert.match(String(h['ratelimit-policy']), /^"node_operator";/)
    assert.equal(h['retry-after'], undefined, 'Retry-After means nothing on a 200')
    assert.equal(h['content-security-policy'], API_CSP)
    assert.equal(h['strict-transport-security'], 'max-age=31536000; includeSubDomains')
    assert.equal(h['x-frame-options'], 'DENY')
    assert.equal(h['x-content-type-options'], 'nosniff')
    assert.equal(h['referrer-policy'], 'strict-origin-when-cross-origin')
    assert.equal(h['clear-site-data'], undefined)
    assert.equal(h['x-upstream-own'], 'kept', "the upstream's own headers pass")
  })

  test('a route that allows cookies gets them; Retry-After passes on a 503', async () => {
    const res = await request(`${base}/api/v1/wallets/w-1`, { headers: operator.auth })
    await res.body.dump()
    assert.deepEqual(res.headers['set-cookie'], HOSTILE['set-cookie'])
    assert.equal(res.headers['content-security-policy'], API_CSP)
    const busy = await request(`${base}/api/v1/wallets/busy`, { headers: operator.auth })
    await busy.body.dump()
    assert.equal(busy.statusCode, 503)
    assert.equal(busy.headers['retry-after'], '7')
  })

  test('a WebSocket 101 passes the same policy and carries the gateway headers', async () => {
    const res = await rawUpgrade(port, `/api/v1/nodes/events?access_token=${operator.access}`, { origin: ORIGIN })
    assert.equal(res.status, 101, res.body)
    assert.equal(res.headers['sec-websocket-accept']?.length, 1, 'the handshake answer passes')
    assert.equal(res.headers['set-cookie'], undefined)
    assert.equal(res.headers['access-control-allow-origin'], undefined)
    assert.equal(res.headers['x-powered-by'], undefined)
    assert.deepEqual(res.headers['content-security-policy'], [API_CSP])
    assert.deepEqual(res.headers['x-frame-options'], ['DENY'])
    assert.deepEqual(res.headers['x-upstream-service'], ['node_management'])
    assert.equal(res.headers['x-request-id']?.length, 1)
  })
})
