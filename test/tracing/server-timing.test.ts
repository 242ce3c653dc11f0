import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { startEchoServer } from '../support/stand-ins.js'

const SECRET = 'timing-secret-0123456789'
const VALUE = /^auth;dur=(\d+\.\d{2}), limit;dur=(\d+\.\d{2}), upstream;dur=(\d+\.\d{2}), total;dur=(\d+\.\d{2})$/

test('SERVER_TIMING=admin: admins see where the time went, other users see nothing', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  const gw = await buildTestApp({
    env: { NODE_SERVICE_URL: up.url, SERVER_TIMING: 'admin', CORS_ORIGINS: 'https://app.example' }
  })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const admin = await login(gw.app, { role: 'admin' })
  const user = await login(gw.app)
  const res = await gw.app.inject({
    url: '/api/v1/nodes/x/slow?ms=120',
    headers: { ...admin.auth, origin: 'https://app.example' }
  })
  assert.equal(res.statusCode, 200)
  const m = VALUE.exec(String(res.headers['server-timing']))
  assert.ok(m, `Server-Timing: ${res.headers['server-timing']}`)
  const [auth, limit, upstream, total] = m.slice(1).map(Number)
  assert.ok(upstream >= 100, `the upstream's 120 ms show in upstream (${upstream})`)
  assert.ok(total >= auth + limit + upstream - 0.05, 'total covers the stages')
  assert.match(String(res.headers['access-control-expose-headers']), /Server-Timing/, 'readable by browser clients')

  const own = await gw.app.inject({ url: '/api/v1/users/me', headers: admin.auth })
  assert.match(
    String(own.headers['server-timing']),
    /^auth;dur=[\d.]+, limit;dur=[\d.]+, total;dur=[\d.]+$/,
    'a gateway route: no upstream stage'
  )
  const other = await gw.app.inject({ url: '/api/v1/nodes/x', headers: user.auth })
  assert.equal(other.statusCode, 200)
  assert.equal(other.headers['server-timing'], undefined, 'not for a plain user')
  assert.equal(
    (await gw.app.inject({ url: '/api/v1/meta/info' })).headers['server-timing'],
    undefined,
    'not for anonymous requests'
  )
})

test('SERVER_TIMING=header: only with the configured secret, which never reaches the upstream', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  const gw = await buildTestApp({
    env: {
      NODE_SERVICE_URL: up.url,
      SERVER_TIMING: 'header',
      SERVER_TIMING_HEADER: 'X-Debug-Timing',
      SERVER_TIMING_SECRET: SECRET
    }
  })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const user = await login(gw.app)
  const admin = await login(gw.app, { role: 'admin' })
  const asked = await gw.app.inject({ url: '/api/v1/nodes/h1', headers: { ...user.auth, 'x-debug-timing': SECRET } })
  assert.match(String(asked.headers['server-timing']), VALUE)
  const seen = up.requests.find((r) => r.url === '/api/v1/nodes/h1')
  assert.ok(seen)
  assert.equal(seen.headers['x-debug-timing'], undefined, 'the secret is not forwarded')
  assert.ok(!JSON.stringify(seen.headers).includes(SECRET))

  const wrong = await gw.app.inject({
    url: '/api/v1/nodes/h2',
    headers: { ...user.auth, 'x-debug-timing': 'guess-guess-guess-guess' }
  })
  assert.equal(wrong.statusCode, 200)
  assert.equal(wrong.headers['server-timing'], undefined, 'a wrong secret gets nothing')
  assert.equal(
    (await gw.app.inject({ url: '/api/v1/nodes/h3', headers: user.auth })).headers['server-timing'],
    undefined
  )
  assert.equal(
    (await gw.app.inject({ url: '/api/v1/nodes/h4', headers: admin.auth })).headers['server-timing'],
    undefined,
    'header mode: the role does not matter'
  )
  // Unauthenticated requests are timed too when they carry the secret (a 401 is a response worth timing).
  const anon = await gw.app.inject({ url: '/api/v1/nodes/h5', headers: { 'x-debug-timing': SECRET } })
  assert.equal(anon.statusCode, 401)
  assert.match(String(anon.headers['server-timing']), /^auth;dur=[\d.]+, limit;dur=[\d.]+, total;dur=[\d.]+$/)
})

test('Server-Timing is off by default, even for admins', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const admin = await login(gw.app, { role: 'admin' })
  const res = await gw.app.inject({ url: '/api/v1/users/me', headers: admin.auth })
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['server-timing'], undefined)
})
