import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

test('cache API: stats, SCAN paging, key CRUD for super_admin, security keys read-only, scoped flush, login sessions, limiter identities', async () => {
  const t = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: '50' } })
  try {
    const superAdmin = await login(t.app, { role: 'super_admin' })
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    const call = (
      who: { auth: Record<string, string> },
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: object
    ) => t.app.inject({ method, url: `/api/v1/cache${url}`, headers: who.auth, payload })

    assert.equal((await call(user, 'GET', '/stats')).statusCode, 403)
    const stats = (await call(admin, 'GET', '/stats')).json()
    assert.equal(stats.kind, t.app.stateStore.kind)
    assert.equal(typeof stats.keys, 'number')

    // Writes: super_admin only; JSON, raw and base64; TTL; NX.
    assert.equal((await call(admin, 'PUT', '/keys/cache:greeting', { value: { hi: 1 } })).statusCode, 403)
    const put = await call(superAdmin, 'PUT', '/keys/cache:greeting', { value: { hi: 1 }, ttl_s: 60 })
    assert.equal(put.statusCode, 200, put.body)
    assert.equal(put.json().value, '{"hi":1}')
    assert.ok(put.json().ttl_ms > 0 && put.json().ttl_ms <= 60_000)
    assert.equal(
      (await call(superAdmin, 'PUT', '/keys/cache:greeting', { value: 'x', encoding: 'raw', nx: true })).statusCode,
      409
    )
    assert.equal(
      (
        await call(superAdmin, 'PUT', '/keys/cache:bin', {
          value: Buffer.from('hello').toString('base64'),
          encoding: 'base64'
        })
      ).json().value,
      'hello'
    )
    assert.equal(
      (await call(superAdmin, 'PUT', '/keys/cache:bin', { value: 'not base64!', encoding: 'base64' })).statusCode,
      422
    )
    assert.equal((await call(admin, 'GET', '/keys/cache:greeting')).json().value, '{"hi":1}')
    assert.equal((await call(admin, 'GET', '/keys/cache:absent')).statusCode, 404)

    // Security state is listed (never its value) but not readable, writable, deletable or flushed
    // (issue 12 finding 1; test/security/cache-secrets.test.ts covers every namespace).
    const challenge = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/challenge',
      payload: { tron_address: user.wallet.address }
    })
    const nonceKey = `challenge:${challenge.json().nonce}`
    assert.equal((await call(superAdmin, 'GET', `/keys/${encodeURIComponent(nonceKey)}`)).statusCode, 403)
    const [listed] = (await call(admin, 'GET', `/keys?pattern=${encodeURIComponent(nonceKey)}`)).json().keys
    assert.deepEqual(
      { ...listed, ttl_ms: listed.ttl_ms > 0, size_bytes: listed.size_bytes > 0 },
      { key: nonceKey, namespace: 'challenge', protected: true, ttl_ms: true, size_bytes: true }
    )
    assert.equal(
      (await call(superAdmin, 'PUT', `/keys/${encodeURIComponent(nonceKey)}`, { value: 'forged', encoding: 'raw' }))
        .statusCode,
      403
    )
    assert.equal((await call(superAdmin, 'DELETE', `/keys/${encodeURIComponent(nonceKey)}`)).statusCode, 403)

    // SCAN paging returns every key once.
    for (let i = 0; i < 30; i++) await t.app.stateStore.set(`cache:page:${i}`, String(i))
    const keys = new Set<string>()
    let cursor = '0'
    let rounds = 0
    do {
      const page = (
        await call(
          admin,
          'GET',
          `/keys?pattern=${encodeURIComponent('cache:page:*')}&limit=7&cursor=${encodeURIComponent(cursor)}`
        )
      ).json()
      for (const k of page.keys) keys.add(k.key)
      cursor = page.next_cursor
      rounds++
    } while (cursor !== '0' && rounds < 100)
    assert.equal(keys.size, 30)
    assert.equal((await call(admin, 'GET', '/keys?pattern=a%20b')).statusCode, 422)

    const mem = (await call(admin, 'GET', '/memory')).json()
    assert.ok(mem.namespaces.cache >= 32)
    assert.ok(mem.namespaces.challenge >= 1)

    // Flush: confirm, super_admin, own keys only, security keys kept.
    assert.equal((await call(superAdmin, 'POST', '/flush', { confirm: false, pattern: '*' })).statusCode, 422)
    assert.equal((await call(admin, 'POST', '/flush', { confirm: true, pattern: '*' })).statusCode, 403)
    const flushed = (await call(superAdmin, 'POST', '/flush', { confirm: true, pattern: '*' })).json()
    assert.ok(flushed.deleted >= 32)
    assert.ok(flushed.kept_protected >= 1)
    assert.equal(await t.app.stateStore.get('cache:page:3'), null)
    assert.notEqual(await t.app.stateStore.get(nonceKey), null, 'the nonce survived the flush')
    assert.equal((await call(superAdmin, 'DELETE', '/keys/cache:greeting')).statusCode, 404)

    // Login sessions: listed by admins; revoking one (super_admin, a cache write) ends that token.
    const sessions = (await call(admin, 'GET', `/sessions?user_id=${user.userId}`)).json()
    assert.equal(sessions.sessions.length, 1)
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: user.auth })).statusCode, 200)
    assert.equal((await call(admin, 'DELETE', `/sessions/${sessions.sessions[0].session_id}`)).statusCode, 403)
    assert.equal((await call(superAdmin, 'DELETE', `/sessions/${sessions.sessions[0].session_id}`)).statusCode, 204)
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: user.auth })).statusCode, 401)
    assert.equal((await call(superAdmin, 'DELETE', `/sessions/${sessions.sessions[0].session_id}`)).statusCode, 404)

    // Limiter identities.
    await t.app.inject({ url: '/api/v1/meta/version' })
    const ids = (await call(admin, 'GET', '/rate-limits')).json()
    assert.ok(ids.identities.some((i: string) => i.startsWith('ip:')))
    assert.ok((await t.app.db.query("SELECT 1 FROM audit_log WHERE action = 'cache.flushed'")).rows.length === 1)
  } finally {
    await t.close()
  }
})
