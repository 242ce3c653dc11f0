/**
 * Issue 12 finding 1: an admin read `email-code:<email>` through GET /api/v1/cache/keys/{key},
 * cracked the unsalted SHA-256 of the 6-digit code offline and signed in as the owner; and
 * `refresh-grace:<jti>` held a complete token pair. Now no API shows the value of a security key
 * (403/2004, super_admins included), the listing shows namespace, TTL and size only, the stored
 * code is an HMAC under a server key, the grace record is sealed, and every cache read is audited
 * with the key it named. Real gateway, real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { challenge, login, newWallet, type LoggedIn } from '../helpers/identity.js'
import { lastCode } from '../helpers/outbox.js'

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

describe('security keys of the state store through the cache API', () => {
  let t: TestApp
  let admin: LoggedIn
  let superAdmin: LoggedIn
  const email = `victim-${Date.now()}@example.com`
  let graceJti: string
  let rotated: { access_token: string; refresh_token: string }
  let victim: LoggedIn

  before(async () => {
    t = await buildTestApp({ env: { REFRESH_REUSE_GRACE_S: '30' } })
    admin = await login(t.app, { role: 'admin' })
    superAdmin = await login(t.app, { role: 'super_admin' })
    // Security state of every kind: a pending email code and link, a challenge nonce, a grace record.
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email } })).statusCode,
      200
    )
    await challenge(t.app, (await newWallet()).address)
    victim = await login(t.app, { role: 'super_admin' })
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: victim.refresh }
    })
    assert.equal(res.statusCode, 200)
    rotated = res.json()
    graceJti = JSON.parse(Buffer.from(victim.refresh.split('.')[1], 'base64url').toString()).jti
  })
  after(async () => t.close())

  const get = (url: string, who: LoggedIn) => t.app.inject({ method: 'GET', url, headers: who.auth })
  async function keysOf(
    pattern: string
  ): Promise<
    { key: string; namespace: string; protected: boolean; ttl_ms: number | null; size_bytes: number | null }[]
  > {
    const res = await get(`/api/v1/cache/keys?pattern=${encodeURIComponent(pattern)}&limit=100`, admin)
    assert.equal(res.statusCode, 200, res.body)
    return res.json().keys
  }

  test('GET of a security key is 403/2004 for admins and super_admins, whatever the namespace', async () => {
    const keys = [
      ...(await keysOf('email-code:*')),
      ...(await keysOf('magic:*')),
      ...(await keysOf('challenge:*')),
      ...(await keysOf('refresh-grace:*')),
      ...(await keysOf('mail-rate:*'))
    ]
    const namespaces = new Set(keys.map((k) => k.key.split(':', 1)[0]))
    for (const ns of ['email-code', 'magic', 'challenge', 'refresh-grace', 'mail-rate'])
      assert.ok(namespaces.has(ns), `the flows above created a ${ns} key`)
    for (const { key } of keys) {
      for (const who of [admin, superAdmin]) {
        const res = await get(`/api/v1/cache/keys/${encodeURIComponent(key)}`, who)
        assert.equal(res.statusCode, 403, `${key}: ${res.body}`)
        assert.equal(res.json().error.code, 'LUCID_ERR_2004')
      }
    }
    // Namespaces whose keys these flows did not create are refused just the same (and before any lookup).
    for (const key of [
      `idem:${admin.userId}:chain:abc`,
      'rl:{ip:127.0.0.1}:public',
      'rl-penalty:ip:127.0.0.1',
      `email-attempts:${sha256(email)}`
    ]) {
      assert.equal((await get(`/api/v1/cache/keys/${encodeURIComponent(key)}`, superAdmin)).statusCode, 403, key)
    }
  })

  test('the listing shows namespace, TTL and size, never a value', async () => {
    const [entry] = await keysOf(`email-code:${email}`)
    assert.ok(entry, 'the pending code is listed')
    assert.deepEqual(Object.keys(entry).sort(), ['key', 'namespace', 'protected', 'size_bytes', 'ttl_ms'])
    assert.equal(entry.namespace, 'email-code')
    assert.equal(entry.protected, true)
    assert.ok(entry.ttl_ms !== null && entry.ttl_ms > 0 && entry.ttl_ms <= 300_000)
    assert.ok(entry.size_bytes !== null && entry.size_bytes > 0)
  })

  test('the stored code cannot be cracked offline, and the right code still signs in', async () => {
    const raw = await t.testStore.store.get(`email-code:${email}`)
    assert.ok(raw !== null)
    const code = await lastCode(t.dataDir, email)
    // The attack of the finding: hash every 6-digit code and look for it in the record.
    const hexes = new Set(raw.match(/[0-9a-f]{64}/g) ?? [])
    let cracked: string | null = null
    for (let i = 0; i < 1_000_000 && cracked === null; i++) {
      const c = String(i).padStart(6, '0')
      if (hexes.has(sha256(c)) || hexes.has(sha256(`${email}\n${c}`))) cracked = c
    }
    assert.equal(cracked, null, 'the stored form gave the code away offline')
    assert.ok(!raw.includes(code))
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { email, code } })
    assert.equal(res.statusCode, 200, res.body)
  })

  test('a refresh-grace record holds no usable token, and the grace window still works', async () => {
    const raw = await t.testStore.store.get(`refresh-grace:${graceJti}`)
    assert.ok(raw !== null, 'the rotation left a grace record')
    assert.ok(!raw.includes(rotated.refresh_token) && !raw.includes(rotated.access_token), 'tokens in clear')
    assert.ok(!raw.includes(rotated.refresh_token.split('.')[1]), 'not even the payload of the token')
    assert.throws(() => JSON.parse(raw), 'not a readable JSON record')
    // The client whose refresh raced within REFRESH_REUSE_GRACE_S gets the same pair back.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: victim.refresh }
    })
    assert.equal(again.statusCode, 200, again.body)
    assert.equal(again.json().refresh_token, rotated.refresh_token)
  })

  test('every cache read is audited with the key it named; a refused read too', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/cache/keys/cache:audited',
      headers: superAdmin.auth,
      payload: { value: { a: 1 } }
    })
    assert.equal(put.statusCode, 200, put.body)
    const read = await get('/api/v1/cache/keys/cache:audited', admin)
    assert.equal(read.statusCode, 200)
    assert.equal(read.json().value, '{"a":1}', 'ordinary keys keep their value view')
    await get(`/api/v1/cache/keys/${encodeURIComponent(`email-code:${email}`)}`, admin)
    const rows = (
      await t.app.db.query<{ target_id: string; outcome: string; actor_id: string }>(
        "SELECT target_id, outcome, actor_id::text FROM audit_log WHERE action = 'cache.read' AND actor_id = $1 ORDER BY audit_id",
        [admin.userId]
      )
    ).rows
    assert.ok(
      rows.some((r) => r.target_id === 'cache:audited' && r.outcome === 'success'),
      JSON.stringify(rows)
    )
    assert.ok(
      rows.some((r) => r.target_id === `email-code:${email}` && r.outcome === 'failure'),
      'the refused read names the key'
    )
  })
})
