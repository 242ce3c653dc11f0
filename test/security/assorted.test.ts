/**
 * Issue 12 finding 10, each point against a real gateway: bounded numeric parameters, framework
 * 400s in the envelope, 415 for text on JSON routes, /metrics protection, the HTTP → HTTPS
 * redirect's host, API keys sharing their user's bucket, IPv6 grouped by prefix, revocations
 * surviving a restore, and access tokens with a foreign `sid` or a future `iat`.
 * (Slow headers are covered by test/security/slow-headers.test.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { SignJWT } from 'jose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, TEST_JWT_SECRET, TEST_DATA_KEY } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { freePort } from '../helpers/throwaway.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { API_CSP } from '../../src/plugins/http-hygiene.js'

/** Sends bytes as they are and returns the whole answer (the gateway closes after an error). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let out = ''
    socket.on('data', (d) => (out += d.toString('latin1')))
    socket.on('end', () => resolve(out))
    socket.on('close', () => resolve(out))
    socket.on('error', reject)
    socket.write(text)
    setTimeout(() => socket.end(), 2_000).unref()
  })
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: string } {
  const end = answer.indexOf('\r\n\r\n')
  const [first, ...lines] = answer.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim()
  let body = answer.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked')
    body = body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '')
  return { status: Number(first.split(' ')[1]), headers, body }
}

test('numeric query and path parameters are bounded: 422/1001, never a 500', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const owner = await login(gw.app)
  const admin = await login(gw.app, { role: 'admin' })
  for (const [who, url] of [
    [owner, '/api/v1/sessions?page=99999999999999999999'],
    [owner, '/api/v1/sessions?page=1000001'],
    [admin, '/api/v1/audit/logs?page=99999999999999999999'],
    [admin, '/api/v1/backups?page=99999999999999999999'],
    [admin, '/api/v1/users?page=99999999999999999999'],
    [admin, `/api/v1/users?page=${Number.MAX_SAFE_INTEGER}`],
    [owner, `/api/v1/manifests/${randomUUID()}/chunks/99999999999/proof`]
  ] as const) {
    const res = await gw.app.inject({ url, headers: who.auth })
    assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
    assert.equal(res.json().error.code, 'LUCID_ERR_1001', url)
  }
  // The largest accepted page is an empty page, not an error.
  const last = await gw.app.inject({ url: '/api/v1/sessions?page=1000000', headers: owner.auth })
  assert.equal(last.statusCode, 200, last.body)
  const safe = await gw.app.inject({ url: '/api/v1/users?page=1000000', headers: admin.auth })
  assert.equal(safe.statusCode, 200, `the largest bounded page reaches SQL harmlessly: ${safe.body}`)
})

test('framework-level 400s come in the envelope with X-Request-ID and security headers, never echoing the URL', async (t) => {
  const gw = await buildTestApp({ contract: false })
  t.after(() => gw.close())
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (gw.app.server.address() as net.AddressInfo).port
  const cases = [
    ['bad escape', 'GET /api/v1/sessions/%E0%A4%A<script> HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['not UTF-8', 'GET /api/v1/sessions/%C0%AF%3Cscript%3E HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['malformed header', 'GET /api/v1/meta/version HTTP/1.1\r\nHost: x\r\nBad Header<script>\r\n\r\n', 400],
    [
      'bad JSON',
      'POST /api/v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":',
      400
    ]
  ] as const
  for (const [what, text, status] of cases) {
    const res = parse(await raw(port, text))
    assert.equal(res.status, status, `${what}: ${res.body}`)
    const e = JSON.parse(res.body).error
    assert.match(e.code, /^LUCID_ERR_10(01|09)$/, what)
    assert.equal(e.service, 'api-gateway', what)
    assert.equal(res.headers['x-request-id'], e.request_id, what)
    assert.equal(res.headers['content-security-policy'], API_CSP, what)
    assert.equal(res.headers['x-content-type-options'], 'nosniff', what)
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', what)
    assert.ok(
      !res.body.includes('script') && !res.body.includes('%C0') && !res.body.includes('%E0'),
      `${what} does not reflect the request: ${res.body}`
    )
  }
})

test('text/plain on a JSON route → 415 with LUCID_ERR_1001 (CONTRACT.md section 3)', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/challenge',
    headers: { 'content-type': 'text/plain' },
    payload: 'tron_address=T'
  })
  assert.equal(res.statusCode, 415, res.body)
  assert.equal(res.json().error.code, 'LUCID_ERR_1001')
})

test('METRICS_TOKEN: /metrics needs the bearer token', async (t) => {
  const gw = await buildTestApp({ env: { METRICS_TOKEN: 'scrape-token-0123456789' } })
  t.after(() => gw.close())
  const none = await gw.app.inject({ url: '/metrics' })
  assert.equal(none.statusCode, 401)
  assert.equal(none.json().error.code, 'LUCID_ERR_2001')
  assert.ok(!none.body.includes('upstream'), 'nothing of the metrics leaks')
  const wrong = await gw.app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456780' } })
  assert.equal(wrong.statusCode, 401)
  const right = await gw.app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456789' } })
  assert.equal(right.statusCode, 200)
  assert.match(right.body, /^http_requests_total/m)
})

test('METRICS_PORT: /metrics leaves the API port for its own listener', async (t) => {
  const metricsPort = await freePort()
  const gw = await buildTestApp({
    env: { METRICS_PORT: String(metricsPort), METRICS_TOKEN: 'scrape-token-0123456789' }
  })
  t.after(() => gw.close())
  const api = await gw.app.inject({ url: '/metrics' })
  assert.equal(api.statusCode, 404, 'not on the API port')
  const denied = await request(`http://127.0.0.1:${metricsPort}/metrics`)
  assert.equal(denied.statusCode, 401)
  assert.equal(((await denied.body.json()) as { error: { code: string } }).error.code, 'LUCID_ERR_2001')
  const res = await request(`http://127.0.0.1:${metricsPort}/metrics`, {
    headers: { authorization: 'Bearer scrape-token-0123456789' }
  })
  assert.equal(res.statusCode, 200)
  assert.match(await res.body.text(), /^process_cpu_user_seconds_total/m)
})

test('HTTP → HTTPS redirect: refuses to start without PUBLIC_URL when any Host is allowed; otherwise never to a forged host', async (t) => {
  const base = {
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    SSL_CERT_PATH: '/x/cert.pem',
    SSL_KEY_PATH: '/x/key.pem',
    HTTP_REDIRECT_TO_HTTPS: 'true'
  }
  assert.throws(
    () => loadConfig(base),
    (err: unknown) =>
      err instanceof ConfigError && /HTTP_REDIRECT_TO_HTTPS needs PUBLIC_URL/.test(String((err as Error).message))
  )
  assert.doesNotThrow(() => loadConfig({ ...base, PUBLIC_URL: 'https://gw.example' }))
  const gw = await buildTestApp({
    env: {
      SSL_CERT_PATH: '/x/cert.pem',
      SSL_KEY_PATH: '/x/key.pem',
      HTTP_REDIRECT_TO_HTTPS: 'true',
      ALLOWED_HOSTS: 'gw.example',
      HTTPS_PORT: '443'
    },
    contract: false
  })
  t.after(() => gw.close())
  const forged = await gw.app.inject({ url: '/api/v1/meta/version', headers: { host: 'evil.example' } })
  assert.equal(forged.statusCode, 400)
  assert.equal(forged.headers.location, undefined)
  const good = await gw.app.inject({ url: '/api/v1/meta/version', headers: { host: 'gw.example' } })
  assert.equal(good.statusCode, 308)
  assert.equal(good.headers.location, 'https://gw.example/api/v1/meta/version')
})

test("API keys of one user share the user's bucket", async (t) => {
  const gw = await buildTestApp({ env: { RATE_LIMIT_AUTHENTICATED: '6' } })
  t.after(() => gw.close())
  const user = await login(gw.app)
  const keys: string[] = []
  for (const name of ['one', 'two']) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/api-keys',
      headers: user.auth,
      payload: { name }
    })
    assert.equal(res.statusCode, 201, res.body)
    keys.push(res.json().key)
  }
  // Two requests went through the bearer token already; four more fill the user's bucket of six.
  const statuses: number[] = []
  for (const key of [keys[0], keys[1], keys[0], keys[1], keys[1]]) {
    statuses.push((await gw.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key } })).statusCode)
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429])
  const bearer = await gw.app.inject({ url: '/api/v1/users/me', headers: user.auth })
  assert.equal(bearer.statusCode, 429, 'the bearer token shares the same bucket')
})

test('per-IP limits group IPv6 addresses by /64 (RATE_LIMIT_IPV6_PREFIX)', async (t) => {
  const gw = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: '3' } })
  const exact = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: '3', RATE_LIMIT_IPV6_PREFIX: '128' } })
  t.after(async () => {
    await gw.close()
    await exact.close()
  })
  const from = (app: FastifyInstance, ip: string) =>
    app.inject({ url: '/api/v1/meta/version', remoteAddress: ip }).then((r) => r.statusCode)
  const same64 = ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::9', '2001:db8:1:2:abcd::7']
  const grouped: number[] = []
  for (const ip of same64) grouped.push(await from(gw.app, ip))
  assert.deepEqual(grouped, [200, 200, 200, 429], 'one /64 is one client')
  assert.equal(await from(gw.app, '2001:db8:1:3::1'), 200, 'the next /64 is another client')
  // Admins find the bucket under the network's address.
  const admin = await login(gw.app, { role: 'admin' })
  const bucket = await gw.app.inject({ url: '/api/v1/cache/rate-limits/ip:2001:db8:1:2::', headers: admin.auth })
  assert.equal(bucket.statusCode, 200, bucket.body)
  assert.ok(
    (bucket.json().rules as { rule: string }[]).some((r) => r.rule === 'public'),
    bucket.body
  )
  const separate: number[] = []
  for (const ip of same64) separate.push(await from(exact.app, ip))
  assert.deepEqual(separate, [200, 200, 200, 200], 'with a /128 prefix every address counts alone')
})

test('a restore never brings back a revoked login session or a rotated refresh token', async (t) => {
  const backupDir = await mkdtemp(path.join(tmpdir(), 'lucid-bk-rev-'))
  const gw = await buildTestApp({ env: { BACKUP_DIR: backupDir } })
  t.after(async () => {
    await gw.close()
    await rm(backupDir, { recursive: true, force: true })
  })
  const superAdmin = await login(gw.app, { role: 'super_admin' })
  const victim = await login(gw.app)
  const rotating = await login(gw.app)
  const until = async (url: string) => {
    for (let i = 0; i < 200; i++) {
      const r = (await gw.app.inject({ url, headers: superAdmin.auth })).json()
      if (r.status === 'completed' || r.status === 'failed') return r
      await sleep(50)
    }
    throw new Error(`timed out waiting for ${url}`)
  }
  const b = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/backups',
    headers: superAdmin.auth,
    payload: { name: 'before the revocation' }
  })
  assert.equal(b.statusCode, 202, b.body)
  const backup = await until(`/api/v1/backups/${b.json().backup_id}`)
  assert.equal(backup.status, 'completed', backup.error)

  // After the backup: the victim logs out (revocation), the other rotates its refresh token.
  assert.equal(
    (await gw.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: victim.auth, payload: {} })).statusCode,
    200
  )
  const rotated = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/refresh',
    payload: { refresh_token: rotating.refresh }
  })
  assert.equal(rotated.statusCode, 200, rotated.body)

  const r = await gw.app.inject({
    method: 'POST',
    url: `/api/v1/backups/${backup.backup_id}/restore?confirm=true`,
    headers: superAdmin.auth,
    payload: { drop_existing: true }
  })
  assert.equal(r.statusCode, 202, r.body)
  const done = await until(`/api/v1/backups/${backup.backup_id}/restores/${r.json().restore_id}`)
  assert.equal(done.status, 'completed', done.error)

  // A second instance has no cached answers: it asks the restored database.
  const fresh = await gw.sibling()
  const me = await fresh.inject({ url: '/api/v1/users/me', headers: victim.auth })
  assert.equal(me.statusCode, 401, 'the revoked session stays revoked')
  assert.equal(me.json().error.code, 'LUCID_ERR_2003')
  const refresh = await fresh.inject({
    method: 'POST',
    url: '/api/v1/auth/refresh',
    payload: { refresh_token: victim.refresh }
  })
  assert.equal(refresh.statusCode, 401)
  const { rows } = await gw.app.db.query<{ revoked_at: Date | null }>(
    'SELECT revoked_at FROM auth_sessions WHERE user_id = $1',
    [victim.userId]
  )
  assert.ok(rows.length > 0 && rows.every((row) => row.revoked_at !== null), 'the row in the database is revoked')
  // The rotated session is still usable with its new refresh token, and not with the old one.
  const current = await fresh.inject({
    method: 'POST',
    url: '/api/v1/auth/refresh',
    payload: { refresh_token: rotated.json().refresh_token }
  })
  assert.equal(current.statusCode, 200, `the present refresh token survives the restore: ${current.body}`)
})

test('access tokens whose sid belongs to another sub, or whose iat is in the future, are refused', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const alice = await login(gw.app)
  const bob = await login(gw.app)
  const sessions = (await gw.app.inject({ url: '/api/v1/auth/sessions', headers: alice.auth })).json()
  const aliceSid = (sessions.sessions ?? sessions)[0].session_id as string
  const key = new TextEncoder().encode(TEST_JWT_SECRET)
  const now = Math.floor(Date.now() / 1000)
  const mint = (claims: Record<string, unknown>, iat = now) =>
    new SignJWT({ role: 'user', type: 'access', jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('lucid-api-gateway')
      .setAudience('lucid-blockchain')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(key)
  // Control: a well-formed token for alice's own session works, so the refusals below are for the claims.
  const own = await gw.app.inject({
    url: '/api/v1/users/me',
    headers: { authorization: `Bearer ${await mint({ sub: alice.userId, sid: aliceSid })}` }
  })
  assert.equal(own.statusCode, 200, own.body)
  const foreign = await gw.app.inject({
    url: '/api/v1/users/me',
    headers: { authorization: `Bearer ${await mint({ sub: bob.userId, sid: aliceSid })}` }
  })
  assert.equal(foreign.statusCode, 401, `bob's token on alice's session: ${foreign.body}`)
  assert.equal(foreign.json().error.code, 'LUCID_ERR_2003')
  const future = await gw.app.inject({
    url: '/api/v1/users/me',
    headers: { authorization: `Bearer ${await mint({ sub: alice.userId, sid: aliceSid }, now + 3_600)}` }
  })
  assert.equal(future.statusCode, 401, `iat an hour ahead: ${future.body}`)
  assert.equal(future.json().error.code, 'LUCID_ERR_2003')
})
