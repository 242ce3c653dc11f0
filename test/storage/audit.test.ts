import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

test('audit API: filtered logs, the head hash, and verify pointing at an entry edited in SQL', async () => {
  const t = await buildTestApp()
  try {
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: user.auth, payload: {} })
    const get = (url: string, who = admin) => t.app.inject({ url, headers: who.auth })

    assert.equal((await get('/api/v1/audit/logs', await login(t.app))).statusCode, 403)
    const all = (await get('/api/v1/audit/logs?limit=100')).json()
    assert.ok(all.entries.length >= 4)
    assert.ok(all.entries[0].audit_id > all.entries[1].audit_id, 'newest first')
    const logins = (await get('/api/v1/audit/logs?action=auth.login&limit=100')).json()
    assert.ok(logins.entries.length >= 2 && logins.entries.every((e: { action: string }) => e.action === 'auth.login'))
    const authPrefix = (await get('/api/v1/audit/logs?action=auth.&limit=100')).json()
    assert.ok(authPrefix.entries.some((e: { action: string }) => e.action === 'auth.logout'))
    const mine = (await get(`/api/v1/audit/logs?actor_id=${user.userId}`)).json()
    assert.ok(mine.entries.length >= 1 && mine.entries.every((e: { actor_id: string }) => e.actor_id === user.userId))
    for (const bad of [
      "action=auth.login'--",
      'actor_id=not-a-uuid',
      'from=yesterday',
      'limit=1000',
      'outcome=maybe'
    ]) {
      const res = await get(`/api/v1/audit/logs?${bad}`)
      assert.equal(res.statusCode, 422, bad)
    }

    const root = (await get('/api/v1/audit/root')).json()
    assert.match(root.root, /^[0-9a-f]{64}$/)
    assert.ok(root.audit_id >= all.entries[0].audit_id)
    assert.equal(
      (await t.app.db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE audit_id = $1', [root.audit_id]))
        .rows[0].hash,
      root.root
    )
    // Reads of the storage API are audited too.
    const reads = (
      await t.app.db.query<{ target_id: string; actor_id: string }>(
        "SELECT target_id, actor_id FROM audit_log WHERE action = 'audit.read'"
      )
    ).rows
    assert.ok(reads.some((r) => r.target_id === '/api/v1/audit/logs' && r.actor_id === admin.userId))
    const ok = (await get('/api/v1/audit/verify')).json()
    assert.equal(ok.valid, true)
    assert.ok(ok.entries >= all.entries.length)

    const victim = logins.entries[logins.entries.length - 1].audit_id
    await t.app.db.query("UPDATE audit_log SET outcome = 'failure' WHERE audit_id = $1", [victim])
    const broken = (await get('/api/v1/audit/verify')).json()
    assert.equal(broken.valid, false)
    assert.equal(broken.first_invalid_id, victim)
    assert.match(broken.reason, /edited/)

    await t.app.db.query("UPDATE audit_log SET outcome = 'success' WHERE audit_id = $1", [victim])
    await t.app.db.query('DELETE FROM audit_log WHERE audit_id = $1', [victim])
    const removed = (await get('/api/v1/audit/verify')).json()
    assert.equal(removed.valid, false)
    assert.ok(removed.first_invalid_id > victim)
    assert.match(removed.reason, /removed or inserted/)
  } finally {
    await t.close()
  }
})
