/**
 * Issue 12 finding 8: an admin revoked a super_admin's login session through
 * DELETE /api/v1/cache/sessions/{id} and cleared a super_admin's lockout with
 * POST /users/{id}/unlock. One rule (src/auth/roles.ts mayManage) now applies wherever an actor
 * acts on another account, its login sessions, API keys, recording sessions or trust policies:
 * only a super_admin manages admins and super_admins. Each route is tried by an admin against a
 * super_admin and another admin (403/2004, nothing changed), and against a plain user (allowed).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'

describe('an admin acting on admins and super_admins', () => {
  let t: TestApp
  let admin: LoggedIn
  let superAdmin: LoggedIn
  let otherAdmin: LoggedIn
  let user: LoggedIn

  before(async () => {
    t = await buildTestApp()
    admin = await login(t.app, { role: 'admin' })
    superAdmin = await login(t.app, { role: 'super_admin' })
    otherAdmin = await login(t.app, { role: 'admin' })
    user = await login(t.app)
  })
  after(async () => t.close())

  const sidOf = (who: LoggedIn) =>
    JSON.parse(Buffer.from(who.access.split('.')[1], 'base64url').toString()).sid as string
  const call = (who: LoggedIn, method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  function refused(res: { statusCode: number; body: string; json(): { error: { code: string } } }, what: string): void {
    assert.equal(res.statusCode, 403, `${what}: ${res.body}`)
    assert.equal(res.json().error.code, 'LUCID_ERR_2004', what)
  }
  const stillWorks = async (who: LoggedIn) =>
    assert.equal((await call(who, 'GET', '/api/v1/users/me')).statusCode, 200, 'the target still signs in')

  test('DELETE /api/v1/cache/sessions/{id}: refused for an admin; a super_admin may', async () => {
    for (const target of [superAdmin, otherAdmin, user])
      refused(await call(admin, 'DELETE', `/api/v1/cache/sessions/${sidOf(target)}`), 'cache session revoke')
    await stillWorks(superAdmin)
    const victim = await login(t.app, { role: 'admin' })
    assert.equal((await call(superAdmin, 'DELETE', `/api/v1/cache/sessions/${sidOf(victim)}`)).statusCode, 204)
    assert.equal((await call(victim, 'GET', '/api/v1/users/me')).statusCode, 401, 'revoked by the super_admin')
  })

  test('POST /users/{id}/unlock: refused on a super_admin or admin, allowed on a user', async () => {
    for (const target of [superAdmin, otherAdmin]) {
      await t.app.db.query("UPDATE users SET locked_until = now() + interval '30 minutes' WHERE user_id = $1", [
        target.userId
      ])
      await t.app.identity.userChanged(target.userId)
      refused(await call(admin, 'POST', `/api/v1/users/${target.userId}/unlock`), 'unlock')
      const row = (
        await t.app.db.query<{ locked: boolean }>(
          'SELECT locked_until > now() AS locked FROM users WHERE user_id = $1',
          [target.userId]
        )
      ).rows[0]
      assert.equal(row.locked, true, 'still locked')
      await t.app.db.query('UPDATE users SET locked_until = NULL WHERE user_id = $1', [target.userId])
      await t.app.identity.userChanged(target.userId)
    }
    assert.equal((await call(admin, 'POST', `/api/v1/users/${user.userId}/unlock`)).statusCode, 200)
  })

  test('role change, suspend, delete and restore of a super_admin or admin are refused', async () => {
    for (const target of [superAdmin, otherAdmin]) {
      refused(await call(admin, 'PATCH', `/api/v1/users/${target.userId}/role`, { role: 'user' }), 'role change')
      refused(await call(admin, 'PUT', `/api/v1/users/${target.userId}`, { status: 'suspended' }), 'suspend')
      refused(await call(admin, 'DELETE', `/api/v1/users/${target.userId}`), 'delete')
      refused(await call(admin, 'POST', `/api/v1/users/${target.userId}/restore`), 'restore')
      await stillWorks(target)
    }
    const roles = (
      await t.app.db.query<{ role: string }>('SELECT role FROM users WHERE user_id = ANY($1) ORDER BY role', [
        [superAdmin.userId, otherAdmin.userId]
      ])
    ).rows
    assert.deepEqual(
      roles.map((r) => r.role),
      ['admin', 'super_admin']
    )
    refused(await call(admin, 'PATCH', `/api/v1/users/${user.userId}/role`, { role: 'admin' }), 'granting admin')
    assert.equal(
      (await call(admin, 'PATCH', `/api/v1/users/${user.userId}/role`, { role: 'node_operator' })).statusCode,
      200
    )
  })

  test("revoking another user's login session or API key (users routes) is refused for an admin", async () => {
    const key = await call(superAdmin, 'POST', '/api/v1/users/me/api-keys', { name: 'ci' })
    assert.equal(key.statusCode, 201)
    refused(
      await call(admin, 'DELETE', `/api/v1/users/${superAdmin.userId}/sessions/${sidOf(superAdmin)}`),
      'session revoke'
    )
    refused(
      await call(admin, 'DELETE', `/api/v1/users/${superAdmin.userId}/api-keys/${key.json().key_id}`),
      'api key revoke'
    )
    await stillWorks(superAdmin)
    assert.equal(
      (await t.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key.json().key } })).statusCode,
      200,
      'the key still works'
    )
  })

  test("writes to a super_admin's recording sessions and trust policies are refused; reads stay allowed", async () => {
    const session = await call(superAdmin, 'POST', '/api/v1/sessions', { name: 'mine' })
    assert.equal(session.statusCode, 201)
    const sid = session.json().session_id
    assert.equal((await call(admin, 'GET', `/api/v1/sessions/${sid}`)).statusCode, 200, 'admins read every session')
    refused(await call(admin, 'PUT', `/api/v1/sessions/${sid}`, { name: 'taken over' }), 'session update')
    refused(await call(admin, 'POST', `/api/v1/sessions/${sid}/terminate`, {}), 'session terminate')
    refused(await call(admin, 'DELETE', `/api/v1/sessions/${sid}`), 'session delete')
    assert.equal((await call(superAdmin, 'GET', `/api/v1/sessions/${sid}`)).json().name, 'mine')

    const policy = await call(superAdmin, 'POST', '/api/v1/trust/policies', { name: 'p', rules: [] })
    assert.equal(policy.statusCode, 201, policy.body)
    const pid = policy.json().policy_id
    refused(await call(admin, 'PUT', `/api/v1/trust/policies/${pid}`, { name: 'q', rules: [] }), 'policy update')
    refused(await call(admin, 'DELETE', `/api/v1/trust/policies/${pid}`), 'policy delete')
    assert.equal((await call(superAdmin, 'GET', `/api/v1/trust/policies/${pid}`)).json().name, 'p')

    const own = await call(user, 'POST', '/api/v1/sessions', { name: 'theirs' })
    assert.equal(
      (await call(admin, 'PUT', `/api/v1/sessions/${own.json().session_id}`, { name: 'moderated' })).statusCode,
      200,
      'a user below admin is managed'
    )
  })
})
