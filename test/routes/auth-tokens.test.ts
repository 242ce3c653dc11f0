import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { SignJWT, UnsecuredJWT } from 'jose'
import { buildApp } from '../../src/app.js'
import { buildTestApp, testConfig, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

const secret = new TextEncoder().encode(TEST_JWT_SECRET)

describe('token lifecycle', () => {
  let t: TestApp
  let clock = Date.now()
  before(async () => {
    t = await buildTestApp({ now: () => clock })
  })
  after(() => t.close())
  const me = (token: string) => t.app.inject({ url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}` } })
  const refresh = (refresh_token: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token } })

  test('refresh rotates; presenting a rotated refresh token again revokes the whole login session', async () => {
    const li = await login(t.app)
    const r1 = await refresh(li.refresh)
    assert.equal(r1.statusCode, 200)
    const pair = r1.json()
    assert.notEqual(pair.refresh_token, li.refresh)
    assert.equal((await me(pair.access_token)).statusCode, 200)
    const reuse = await refresh(li.refresh)
    assert.equal(reuse.statusCode, 401)
    assert.equal(reuse.json().error.code, 'LUCID_ERR_2010')
    const after = await me(pair.access_token)
    assert.equal(after.statusCode, 401, 'the new access token died with its session')
    assert.equal(after.json().error.code, 'LUCID_ERR_2003')
    assert.equal((await refresh(pair.refresh_token)).json().error.code, 'LUCID_ERR_2010')
    const { rows } = await t.app.db.query<{ revoked_reason: string }>(
      'SELECT revoked_reason FROM auth_sessions WHERE user_id = $1',
      [li.userId]
    )
    assert.deepEqual(
      rows.map((r) => r.revoked_reason),
      ['refresh_token_reuse']
    )
  })

  test('concurrent refreshes of one token: exactly one succeeds', async () => {
    const li = await login(t.app)
    const results = await Promise.all(Array.from({ length: 5 }, () => refresh(li.refresh)))
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1)
  })

  test('logout revokes the current session; logout_all revokes every session of the user', async () => {
    const a = await login(t.app)
    const b = await login(t.app, { wallet: a.wallet })
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: a.auth, payload: {} })
    assert.equal(out.statusCode, 200)
    assert.equal((await me(a.access)).json().error.code, 'LUCID_ERR_2003')
    assert.equal((await me(b.access)).statusCode, 200)
    const sessions = await t.app.inject({ url: '/api/v1/auth/sessions', headers: b.auth })
    assert.equal(sessions.json().sessions.length, 1)
    assert.equal(sessions.json().sessions[0].current, true)
    const c = await login(t.app, { wallet: a.wallet })
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: c.auth,
      payload: { logout_all_sessions: true }
    })
    assert.equal((await me(b.access)).statusCode, 401)
    assert.equal((await refresh(b.refresh)).statusCode, 401)
  })

  test('a single login session can be revoked by id; someone else’s id is 404', async () => {
    const a = await login(t.app)
    const b = await login(t.app)
    const other = (await t.app.inject({ url: '/api/v1/auth/sessions', headers: b.auth })).json().sessions[0].session_id
    const notMine = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${other}`, headers: a.auth })
    assert.equal(notMine.statusCode, 404)
    const mine = (await t.app.inject({ url: '/api/v1/auth/sessions', headers: a.auth })).json().sessions[0].session_id
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${mine}`, headers: a.auth })).statusCode,
      204
    )
    assert.equal((await me(a.access)).statusCode, 401)
  })

  test('token checks reject forgeries, wrong algorithms, wrong iss/aud, swapped types and expiry', async () => {
    const li = await login(t.app)
    const claims = JSON.parse(Buffer.from(li.access.split('.')[1], 'base64url').toString())
    const base = { role: claims.role, type: 'access', sid: claims.sid }
    const make = (alg: string, key: Uint8Array, mutate: (j: SignJWT) => SignJWT = (j) => j) =>
      mutate(
        new SignJWT(base)
          .setProtectedHeader({ alg })
          .setSubject(claims.sub)
          .setJti('x')
          .setIssuedAt()
          .setExpirationTime('5m')
          .setIssuer('lucid-api-gateway')
          .setAudience('lucid-blockchain')
      ).sign(key)
    const cases: [string, string, string][] = [
      [
        'wrong key',
        await make('HS256', new TextEncoder().encode('another-secret-that-is-long-enough-000000')),
        'LUCID_ERR_2003'
      ],
      ['HS512', await make('HS512', secret), 'LUCID_ERR_2003'],
      [
        'alg none',
        new UnsecuredJWT(base)
          .setSubject(claims.sub)
          .setIssuer('lucid-api-gateway')
          .setAudience('lucid-blockchain')
          .setExpirationTime('5m')
          .encode(),
        'LUCID_ERR_2003'
      ],
      ['wrong issuer', await make('HS256', secret, (j) => j.setIssuer('someone-else')), 'LUCID_ERR_2003'],
      ['wrong audience', await make('HS256', secret, (j) => j.setAudience('other')), 'LUCID_ERR_2003'],
      [
        'not yet valid',
        await make('HS256', secret, (j) => j.setNotBefore(Math.floor(Date.now() / 1000) + 600)),
        'LUCID_ERR_2003'
      ],
      ['refresh as access', li.refresh, 'LUCID_ERR_2003'],
      ['garbage', 'abc.def.ghi', 'LUCID_ERR_2003']
    ]
    for (const [name, token, code] of cases) {
      const res = await me(token)
      assert.equal(res.statusCode, 401, name)
      assert.equal(res.json().error.code, code, name)
    }
    const accessAsRefresh = await refresh(li.access)
    assert.equal(accessAsRefresh.json().error.code, 'LUCID_ERR_2010')
    clock += 16 * 60_000
    const expired = await me(li.access)
    clock = Date.now()
    assert.equal(expired.json().error.code, 'LUCID_ERR_2002')
    const noAuth = await t.app.inject({ url: '/api/v1/users/me' })
    assert.equal(noAuth.json().error.code, 'LUCID_ERR_2001')
    assert.match(String(noAuth.headers['www-authenticate']), /Bearer/)
  })

  test('a role change, a suspension and a deletion apply on the next request, not at token expiry', async () => {
    const admin = await login(t.app, { role: 'super_admin' })
    const u = await login(t.app)
    const metrics = () => t.app.inject({ url: '/api/v1/meta/metrics', headers: u.auth })
    assert.equal((await metrics()).statusCode, 403)
    assert.equal((await metrics()).json().error.code, 'LUCID_ERR_2004')
    const promote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${u.userId}/role`,
      headers: admin.auth,
      payload: { role: 'admin' }
    })
    assert.equal(promote.statusCode, 200)
    assert.equal((await metrics()).statusCode, 200, 'same token, new role')
    const summary = (await metrics()).json()
    assert.equal(typeof summary.metrics.requests_per_second, 'number')
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${u.userId}/role`,
      headers: admin.auth,
      payload: { role: 'user' }
    })
    assert.equal((await metrics()).statusCode, 403)
    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${u.userId}`,
      headers: admin.auth,
      payload: { status: 'suspended' }
    })
    assert.equal((await me(u.access)).statusCode, 401)
    const v = await login(t.app)
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${v.userId}`, headers: v.auth })).statusCode,
      204
    )
    assert.equal((await me(v.access)).statusCode, 401)
  })
})

describe('revocation across instances and restarts', () => {
  test('a logout on one instance is refused on another within a second, and after a restart', async () => {
    const t = await buildTestApp()
    try {
      const b = await t.sibling()
      const li = await login(t.app)
      assert.equal(
        (await b.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode,
        200,
        'instance B has cached the session as valid'
      )
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: li.auth, payload: {} })
      const started = Date.now()
      let refused = false
      while (!refused && Date.now() - started < 3_000) {
        refused = (await b.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode === 401
        if (!refused) await sleep(20)
      }
      const ms = Date.now() - started
      assert.ok(refused && ms < 1_500, `refused on instance B after ${ms} ms`)
      // A fresh process on the same database: the revocation is in the database, not in memory.
      const restarted = await buildApp(testConfig(t.dataDir), { db: t.testDb.db, stateStore: t.testStore.store })
      try {
        assert.equal((await restarted.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode, 401)
      } finally {
        await restarted.close()
      }
    } finally {
      await t.close()
    }
  })
})

test('REFRESH_REUSE_GRACE_S lets an honest retry receive the same new pair instead of a revocation', async () => {
  const t = await buildTestApp({ env: { REFRESH_REUSE_GRACE_S: '5' } })
  try {
    const li = await login(t.app)
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: li.refresh }
    })
    const retry = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: li.refresh }
    })
    assert.equal(first.statusCode, 200)
    assert.equal(retry.statusCode, 200)
    assert.equal(retry.json().refresh_token, first.json().refresh_token)
    assert.equal(
      (
        await t.app.inject({
          url: '/api/v1/users/me',
          headers: { authorization: `Bearer ${first.json().access_token}` }
        })
      ).statusCode,
      200
    )
  } finally {
    await t.close()
  }
})
