import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, newWallet } from '../helpers/identity.js'
import { extract, startSmtpSink, type SmtpSink } from '../helpers/smtp.js'

describe('users and roles', () => {
  let t: TestApp
  let smtp: SmtpSink
  before(async () => {
    smtp = await startSmtpSink()
    t = await buildTestApp({ env: { SMTP_URL: smtp.url } })
  })
  after(async () => {
    await t.close()
    await smtp.close()
  })

  test('a user reads and updates their own profile; usernames are validated and unique case-insensitively', async () => {
    const a = await login(t.app)
    const b = await login(t.app)
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers: a.auth,
      payload: { username: 'Alice_1', first_name: 'Alice' }
    })
    assert.equal(put.statusCode, 200)
    assert.equal(put.json().username, 'Alice_1')
    const clash = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers: b.auth,
      payload: { username: 'alice_1' }
    })
    assert.equal(clash.statusCode, 409)
    assert.equal(clash.json().error.code, 'LUCID_ERR_4002')
    for (const username of ['ab', 'has space', 'x'.repeat(51)]) {
      assert.equal(
        (await t.app.inject({ method: 'PUT', url: '/api/v1/users/me', headers: b.auth, payload: { username } }))
          .statusCode,
        422,
        username
      )
    }
    const sneaky = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers: b.auth,
      payload: { email: 'x@example.com' }
    })
    assert.equal(sneaky.statusCode, 422, 'email cannot be set without proof')
    const sneakyRole = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers: b.auth,
      payload: { role: 'admin' }
    })
    assert.equal(sneakyRole.statusCode, 422)
  })

  test("another user's profile is 404 for a non-admin and visible to an admin", async () => {
    const a = await login(t.app)
    const b = await login(t.app)
    const admin = await login(t.app, { role: 'admin' })
    assert.equal((await t.app.inject({ url: `/api/v1/users/${b.userId}`, headers: a.auth })).statusCode, 404)
    assert.equal((await t.app.inject({ url: `/api/v1/users/${b.userId}`, headers: admin.auth })).statusCode, 200)
    assert.equal(
      (await t.app.inject({ url: '/api/v1/users/not-a-uuid', headers: admin.auth })).json().error.code,
      'LUCID_ERR_1005'
    )
    assert.equal((await t.app.inject({ url: '/api/v1/users', headers: a.auth })).statusCode, 403)
    const list = await t.app.inject({ url: '/api/v1/users?limit=2&page=1&role=user', headers: admin.auth })
    assert.equal(list.statusCode, 200)
    assert.equal(list.json().users.length, 2)
    assert.ok(list.json().pagination.total >= 2)
    assert.equal((await t.app.inject({ url: '/api/v1/users?limit=101', headers: admin.auth })).statusCode, 422)
  })

  test('only a super_admin grants admin or super_admin, and admins cannot manage admins', async () => {
    const admin = await login(t.app, { role: 'admin' })
    const other = await login(t.app, { role: 'admin' })
    const superAdmin = await login(t.app, { role: 'super_admin' })
    const u = await login(t.app)
    const grant = (who: typeof admin, id: string, role: string) =>
      t.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}/role`, headers: who.auth, payload: { role } })
    assert.equal((await grant(admin, u.userId, 'node_operator')).statusCode, 200)
    assert.equal((await grant(admin, u.userId, 'admin')).statusCode, 403)
    assert.equal((await grant(admin, other.userId, 'user')).statusCode, 403)
    assert.equal((await grant(superAdmin, u.userId, 'admin')).statusCode, 200)
    const { rows } = await t.app.db.query<{ details: { from: string; to: string } }>(
      "SELECT details FROM audit_log WHERE action = 'user.role_changed' AND target_id = $1 ORDER BY audit_id",
      [u.userId]
    )
    assert.deepEqual(
      rows.map((r) => r.details.to),
      ['node_operator', 'admin']
    )
  })

  test('a soft-deleted account cannot log in until an admin restores it', async () => {
    const u = await login(t.app)
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${u.userId}`, headers: u.auth })).statusCode,
      204
    )
    await assert.rejects(login(t.app, { wallet: u.wallet }), /401/)
    const admin = await login(t.app, { role: 'admin' })
    const restore = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${u.userId}/restore`,
      headers: admin.auth
    })
    assert.equal(restore.json().status, 'active')
    assert.equal((await login(t.app, { wallet: u.wallet })).userId, u.userId)
  })

  test('API keys: shown once, stored hashed, role capped by the owner, usable, revocable', async () => {
    const u = await login(t.app, { role: 'node_operator' })
    const tooHigh = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/api-keys',
      headers: u.auth,
      payload: { name: 'ci', role: 'admin' }
    })
    assert.equal(tooHigh.statusCode, 403)
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/api-keys',
      headers: u.auth,
      payload: { name: 'ci', expires_in_days: 30 }
    })
    assert.equal(created.statusCode, 201)
    const key = created.json().key as string
    assert.equal(created.json().role, 'node_operator')
    const { rows } = await t.app.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE key_id = $1', [
      created.json().key_id
    ])
    assert.notEqual(rows[0].key_hash, key)
    const me = await t.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key } })
    assert.equal(me.statusCode, 200)
    assert.equal(me.json().user_id, u.userId)
    const listed = await t.app.inject({ url: '/api/v1/users/me/api-keys', headers: u.auth })
    assert.equal(listed.json().api_keys.length, 1)
    assert.equal(listed.json().api_keys[0].key, undefined, 'the secret is never listed')
    assert.equal(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/users/me/api-keys/${created.json().key_id}`,
          headers: u.auth
        })
      ).statusCode,
      204
    )
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key } })).statusCode, 401)
  })

  test('linking a second proven address; an address of another account → 409', async () => {
    const a = await login(t.app)
    const b = await login(t.app)
    const w = await newWallet()
    const link = async (who: typeof a, wallet: typeof w) => {
      const c = (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/users/me/wallet/challenge',
          headers: who.auth,
          payload: { tron_address: wallet.address }
        })
      ).json()
      return t.app.inject({
        method: 'POST',
        url: '/api/v1/users/me/wallet',
        headers: who.auth,
        payload: {
          tron_address: wallet.address,
          signature: wallet.sign(c.message),
          nonce: c.nonce,
          wallet_type: 'ledger'
        }
      })
    }
    assert.equal((await link(a, b.wallet)).statusCode, 409)
    const ok = await link(a, w)
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.json().tron_address, w.address)
    assert.equal(ok.json().wallet_type, 'ledger')
    // A login challenge cannot be used to link, and vice versa.
    const loginChallenge = (
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { tron_address: w.address } })
    ).json()
    const cross = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/wallet',
      headers: a.auth,
      payload: { tron_address: w.address, signature: w.sign(loginChallenge.message), nonce: loginChallenge.nonce }
    })
    assert.equal(cross.json().error.code, 'LUCID_ERR_2009')
  })

  test('linking an email completes through the magic link; an email of another account answers the same, with a notice mailed', async () => {
    const a = await login(t.app)
    const email = `linked-${Date.now()}@example.com`
    const mailP = smtp.next(email)
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/users/me/email', headers: a.auth, payload: { email } }))
        .statusCode,
      200
    )
    assert.equal(
      (await t.app.inject({ url: '/api/v1/users/me', headers: a.auth })).json().email,
      null,
      'not attached before proof'
    )
    const { token } = extract(await mailP)
    const done = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { token } })
    assert.equal(done.statusCode, 200)
    assert.equal(done.json().user.user_id, a.userId)
    assert.equal(done.json().user.email, email)
    const b = await login(t.app)
    const noticeP = smtp.next(email)
    const clash = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/email',
      headers: b.auth,
      payload: { email }
    })
    assert.equal(clash.statusCode, 200, 'no 409: the answer does not tell whether the address is taken (issue 12)')
    assert.match((await noticeP).raw, /already belongs to an account/)
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: b.auth })).json().email, null)
  })

  test('authentication events are appended to a hash-chained audit log', async () => {
    const u = await login(t.app)
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: u.auth, payload: {} })
    const { rows } = await t.app.db.query<{ action: string; prev_hash: string; hash: string; actor_id: string }>(
      'SELECT action, prev_hash, hash, actor_id FROM audit_log ORDER BY audit_id'
    )
    const mine = rows.filter((r) => r.actor_id === u.userId).map((r) => r.action)
    assert.deepEqual(
      mine.filter((a) => a.startsWith('auth.')),
      ['auth.login', 'auth.logout']
    )
    for (let i = 1; i < rows.length; i++)
      assert.equal(rows[i].prev_hash, rows[i - 1].hash, 'each entry links to the previous one')
  })
})
