import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

test('volumes: system volumes, create with quota, usage history, health, resize, cleanup of orphans, delete refused while in use', async () => {
  let now = Date.now()
  const t = await buildTestApp({ now: () => now })
  try {
    const superAdmin = await login(t.app, { role: 'super_admin' })
    const admin = await login(t.app, { role: 'admin' })
    const call = (
      who: { auth: Record<string, string> },
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: object
    ) => t.app.inject({ method, url: `/api/v1/volumes${url}`, headers: who.auth, payload })

    const list = (await call(admin, 'GET', '/')).json().volumes
    assert.deepEqual(
      list
        .filter((v: { system: boolean }) => v.system)
        .map((v: { name: string }) => v.name)
        .sort(),
      ['backups', 'chunks']
    )
    assert.equal((await call(superAdmin, 'DELETE', '/chunks?confirm=true')).statusCode, 409, 'system volumes stay')

    assert.equal((await call(admin, 'POST', '/', { name: 'media', quota_bytes: 10_485_760 })).statusCode, 403)
    for (const name of ['../etc', 'a/b', '.hidden', 'UPPER', '', 'x'.repeat(64)]) {
      assert.equal((await call(superAdmin, 'POST', '/', { name, quota_bytes: 10_485_760 })).statusCode, 422, name)
    }
    const dotdot = await call(admin, 'GET', `/${encodeURIComponent('..')}`)
    assert.ok(
      [404, 422].includes(dotdot.statusCode) && dotdot.json().error.code !== undefined,
      'never resolves outside'
    )
    const created = await call(superAdmin, 'POST', '/', { name: 'media', quota_bytes: 10_485_760 })
    assert.equal(created.statusCode, 201, created.body)
    assert.equal(created.json().path, path.join(t.config.volumesRoot, 'media'))
    assert.equal((await call(superAdmin, 'POST', '/', { name: 'media', quota_bytes: 10_485_760 })).statusCode, 409)

    const dir = created.json().path
    await writeFile(path.join(dir, 'a.bin'), Buffer.alloc(3_000_000))
    await writeFile(path.join(dir, 'stale.tmp'), Buffer.alloc(1_000))
    await utimes(path.join(dir, 'stale.tmp'), new Date(now - 7_200_000), new Date(now - 7_200_000))
    await writeFile(path.join(dir, 'fresh.tmp'), Buffer.alloc(10))
    const one = (await call(admin, 'GET', '/media')).json()
    assert.equal(one.used_bytes, 3_001_010)
    assert.equal(one.files, 3)

    const base = now
    now = base - 2 * 3_600_000 // a sample two hours ago…
    await t.app.services.volumes.sample()
    now = base
    await writeFile(path.join(dir, 'b.bin'), Buffer.alloc(1_000_000))
    await t.app.services.volumes.sample() // …and one now
    const usageRes = await call(admin, 'GET', '/media/usage?period=24h')
    assert.equal(usageRes.statusCode, 200, usageRes.body)
    const usage = usageRes.json()
    assert.deepEqual(
      usage.history.map((h: { used_bytes: number }) => h.used_bytes),
      [3_001_010, 4_001_010]
    )
    assert.equal((await call(admin, 'GET', '/media/usage?period=1h')).json().history.length, 1)
    assert.equal((await call(admin, 'GET', '/media/usage?period=5y')).statusCode, 422)

    const health = (await call(admin, 'GET', '/media/health')).json()
    assert.equal(health.write_test.ok, true)
    assert.ok(health.free_bytes > 0)
    assert.equal(health.status, 'healthy')

    assert.equal(
      (await call(superAdmin, 'POST', '/media/resize', { quota_bytes: 2_097_152 })).statusCode,
      422,
      'not below what is used'
    )
    assert.equal(
      (await call(superAdmin, 'POST', '/media/resize', { quota_bytes: 20_971_520 })).json().quota_bytes,
      20_971_520
    )
    assert.equal((await call(superAdmin, 'PUT', '/media', { status: 'readonly' })).json().status, 'readonly')
    assert.equal((await call(superAdmin, 'PUT', '/media', { status: 'gone' })).statusCode, 422)

    now = Date.now()
    const cleaned = (await call(superAdmin, 'POST', '/media/cleanup')).json()
    assert.deepEqual(cleaned, { removed_files: 1, freed_bytes: 1_000 })
    assert.deepEqual((await readdir(dir)).sort(), ['a.bin', 'b.bin', 'fresh.tmp'])

    // The chunks volume: directories of sessions the database does not know are orphans.
    const chunks = t.app.services.volumes.dirOf('chunks')
    const orphan = path.join(chunks, 'ab', 'abababab-0000-4000-8000-000000000000')
    await mkdir(orphan, { recursive: true })
    await writeFile(path.join(orphan, '00000000.chunk'), Buffer.alloc(500))
    const owner = await login(t.app)
    const s = (
      await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: owner.auth, payload: { name: 'kept' } })
    ).json()
    await t.app.inject({ method: 'POST', url: `/api/v1/sessions/${s.session_id}/start`, headers: owner.auth })
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/sessions/${s.session_id}/chunks`,
      headers: { ...owner.auth, 'content-type': 'application/octet-stream', 'x-chunk-index': '0' },
      payload: Buffer.alloc(700)
    })
    const c = (await call(superAdmin, 'POST', '/chunks/cleanup')).json()
    assert.deepEqual(c, { removed_files: 1, freed_bytes: 500 })
    assert.equal((await call(admin, 'GET', '/chunks')).json().used_bytes, 700, 'the live session kept its chunk')

    assert.equal((await call(superAdmin, 'DELETE', '/media')).statusCode, 422, 'confirm required')
    assert.equal((await call(superAdmin, 'DELETE', '/media?confirm=true')).statusCode, 409, 'in use')
    for (const f of await readdir(dir)) await import('node:fs/promises').then((fs) => fs.rm(path.join(dir, f)))
    assert.equal((await call(superAdmin, 'DELETE', '/media?confirm=true')).statusCode, 204)
    assert.equal((await call(admin, 'GET', '/media')).statusCode, 404)
  } finally {
    await t.close()
  }
})

test('privacy purge erases a user with their sessions and chunk files; retention drops old login sessions', async () => {
  const t = await buildTestApp()
  try {
    const superAdmin = await login(t.app, { role: 'super_admin' })
    const admin = await login(t.app, { role: 'admin' })
    const victim = await login(t.app)
    const s = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/sessions',
        headers: victim.auth,
        payload: { name: 'private' }
      })
    ).json()
    await t.app.inject({ method: 'POST', url: `/api/v1/sessions/${s.session_id}/start`, headers: victim.auth })
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/sessions/${s.session_id}/chunks`,
      headers: { ...victim.auth, 'content-type': 'application/octet-stream', 'x-chunk-index': '0' },
      payload: Buffer.alloc(100)
    })
    const purge = (who: { auth: Record<string, string> }, q = '?confirm=true') =>
      t.app.inject({ method: 'POST', url: `/api/v1/users/${victim.userId}/purge${q}`, headers: who.auth })
    assert.equal((await purge(admin)).statusCode, 403)
    assert.equal((await purge(superAdmin, '')).statusCode, 422)
    const r = await purge(superAdmin)
    assert.equal(r.statusCode, 200, r.body)
    assert.deepEqual(r.json(), { user_id: victim.userId, sessions: 1, chunks: 1 })
    for (const table of ['users', 'sessions', 'chunks', 'auth_sessions']) {
      const col = table === 'chunks' ? 'session_id' : table === 'sessions' ? 'session_id' : 'user_id'
      const id = table === 'chunks' || table === 'sessions' ? s.session_id : victim.userId
      assert.equal((await t.app.db.query(`SELECT 1 FROM ${table} WHERE ${col} = $1`, [id])).rows.length, 0, table)
    }
    assert.equal(await t.app.services.chunkStore.size(s.session_id, 0), null, 'chunk file removed')
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: victim.auth })).statusCode, 401)
    const entry = (
      await t.app.db.query<{ details: { sessions: number } }>(
        "SELECT details FROM audit_log WHERE action = 'user.purged' AND target_id = $1",
        [victim.userId]
      )
    ).rows
    assert.equal(entry.length, 1)
    assert.equal(entry[0].details.sessions, 1)

    await t.app.db.query("UPDATE auth_sessions SET expires_at = now() - interval '40 days' WHERE user_id = $1", [
      admin.userId
    ])
    const purged = await t.app.services.retention.purgeExpired()
    assert.equal(purged.auth_sessions, 1)
    assert.equal(
      (await t.app.db.query('SELECT 1 FROM auth_sessions WHERE user_id = $1', [superAdmin.userId])).rows.length,
      1,
      'live sessions stay'
    )
  } finally {
    await t.close()
  }
})
