import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { restoreBackup } from '../../src/backup/backup.js'
import { createTableDataRepository } from '../../src/data/repositories/table-data.js'
import { migrate } from '../../src/data/migrate.js'
import { isProtectedKey } from '../../src/stores/protected-keys.js'

async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await fn()
    if (done(v)) return v
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const snapshot = async (app: FastifyInstance) => ({
  sessions: (await app.db.query('SELECT session_id, name, description, status FROM sessions ORDER BY session_id')).rows,
  users: (await app.db.query('SELECT user_id, role, tron_address FROM users ORDER BY user_id')).rows
})

for (const kind of dbKinds())
  describe(`backups API on ${kind}`, () => {
    let t: TestApp
    let backupDir: string
    let superAdmin: LoggedIn
    let admin: LoggedIn
    let user: LoggedIn
    const inject = (who: LoggedIn, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: who.auth, payload })
    const finished = (id: string) =>
      until(
        async () => (await inject(admin, 'GET', `/api/v1/backups/${id}`)).json(),
        (b) => b.status === 'completed' || b.status === 'failed',
        `backup ${id}`
      )
    const restored = (backupId: string, id: string) =>
      until(
        async () => (await inject(admin, 'GET', `/api/v1/backups/${backupId}/restores/${id}`)).json(),
        (r) => r.status === 'completed' || r.status === 'failed',
        `restore ${id}`
      )

    test('setup', async () => {
      backupDir = await mkdtemp(path.join(tmpdir(), 'lucid-bk-'))
      t = await buildTestApp({ db: await createTestDb(kind), env: { BACKUP_DIR: backupDir } })
      superAdmin = await login(t.app, { role: 'super_admin' })
      admin = await login(t.app, { role: 'admin' })
      user = await login(t.app)
      for (const name of ['alpha', 'beta', 'gamma']) {
        assert.equal(
          (await inject(user, 'POST', '/api/v1/sessions', { name, description: `the ${name} recording` })).statusCode,
          201
        )
      }
    })

    test('backup → verify → damage the data → restore gives identical rows; the audit log only grows', async () => {
      assert.equal((await inject(user, 'POST', '/api/v1/backups', { name: 'nope' })).statusCode, 403)
      await t.app.stateStore.set('cache:greeting', 'hello', { ttlMs: 600_000 })
      await t.app.stateStore.set('challenge:old-nonce', 'secret-state', { ttlMs: 600_000 })
      assert.equal(
        (await inject(admin, 'POST', '/api/v1/backups', { name: 'nope' })).statusCode,
        403,
        'a backup is a write: super_admin'
      )
      const res = await inject(superAdmin, 'POST', '/api/v1/backups', { name: 'nightly 1' })
      assert.equal(res.statusCode, 202)
      assert.equal(res.json().status, 'pending')
      const b = await finished(res.json().backup_id)
      assert.equal(b.status, 'completed', b.error)
      assert.equal(b.row_counts['public.sessions'], 3)
      assert.ok(
        b.row_counts['state.keyspace'] >= 1,
        `the state store keyspace is in the backup: ${JSON.stringify(b.row_counts)}`
      )
      // Security state never goes into a backup (issue 12): only the keys outside its namespaces.
      const plain: string[] = []
      for (let cursor = '0', first = true; first || cursor !== '0'; first = false) {
        const page = await t.app.stateStore.scan('*', cursor, 500)
        plain.push(...page.keys.filter((k) => !isProtectedKey(k)))
        cursor = page.cursor
      }
      assert.equal(b.row_counts['state.keyspace'], plain.length, `only ${plain.join(', ')}`)
      assert.equal(b.encryption, true)
      assert.match(b.sha256, /^[0-9a-f]{64}$/)
      const metric = /^backup_last_success_timestamp_seconds (\S+)$/m.exec(
        (await t.app.inject({ url: '/metrics' })).body
      )
      assert.ok(
        Math.abs(Number(metric?.[1]) - Date.parse(b.completed_at) / 1000) < 0.001,
        `the backup-age metric reads the catalogue: ${metric?.[1]} vs ${b.completed_at}`
      )
      const verify = await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/verify`)
      assert.equal(verify.statusCode, 200)
      assert.equal(verify.json().valid, true)
      assert.equal(
        verify.json().rows,
        Object.values(b.row_counts as Record<string, number>).reduce((a, n) => a + n, 0)
      )

      const before = await snapshot(t.app)
      const auditBefore = Number(
        (await t.app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n
      )
      await t.app.db.query("DELETE FROM sessions WHERE name <> 'alpha'")
      await t.app.db.query("UPDATE sessions SET description = 'vandalised'")
      await t.app.stateStore.del('cache:greeting')
      await t.app.stateStore.del('challenge:old-nonce')

      assert.equal(
        (await inject(admin, 'POST', `/api/v1/backups/${b.backup_id}/restore?confirm=true`, { drop_existing: true }))
          .statusCode,
        403,
        'admins may not restore'
      )
      const noConfirm = await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/restore`, {
        drop_existing: true
      })
      assert.equal(noConfirm.statusCode, 422)
      assert.match(noConfirm.json().error.message, /confirm=true/)
      const r = await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/restore?confirm=true`, {
        drop_existing: true
      })
      assert.equal(r.statusCode, 202, r.body)
      const done = await restored(b.backup_id, r.json().restore_id)
      assert.equal(done.status, 'completed', done.error)
      assert.deepEqual(await snapshot(t.app), before)
      assert.equal(await t.app.stateStore.get('cache:greeting'), 'hello', 'cache keys come back')
      assert.equal(await t.app.stateStore.get('challenge:old-nonce'), null, 'security state is never restored')
      const audit = await t.app.db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY audit_id')
      assert.ok(audit.rows.length > auditBefore, 'the restore appended to the audit log')
      assert.ok(audit.rows.some((e) => e.action === 'backup.restored'))
      const chain = await inject(admin, 'GET', '/api/v1/audit/verify')
      assert.equal(chain.json().valid, true)
    })

    test('restore without drop_existing only adds missing rows', async () => {
      const b = await finished(
        (await inject(superAdmin, 'POST', '/api/v1/backups', { name: 'partial', tables: ['sessions', 'users'] })).json()
          .backup_id
      )
      assert.deepEqual(Object.keys(b.row_counts).sort(), ['public.sessions', 'public.users'])
      await t.app.db.query("DELETE FROM sessions WHERE name = 'beta'")
      await t.app.db.query("UPDATE sessions SET description = 'kept' WHERE name = 'alpha'")
      const r = await restored(
        b.backup_id,
        (
          await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/restore?confirm=true`, {
            tables: ['sessions']
          })
        ).json().restore_id
      )
      assert.equal(r.status, 'completed', r.error)
      assert.equal(r.rows_restored, 1)
      const rows = (
        await t.app.db.query<{ name: string; description: string }>(
          'SELECT name, description FROM sessions ORDER BY name'
        )
      ).rows
      assert.deepEqual(rows, [
        { name: 'alpha', description: 'kept' },
        { name: 'beta', description: 'the beta recording' },
        { name: 'gamma', description: 'the gamma recording' }
      ])
      const unknown = await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/restore?confirm=true`, {
        tables: ['manifests']
      })
      assert.equal(unknown.statusCode, 422)
    })

    test('a corrupted backup fails verify and its restore changes nothing', async () => {
      const b = await finished(
        (await inject(superAdmin, 'POST', '/api/v1/backups', { name: 'to-corrupt' })).json().backup_id
      )
      const fh = await open(path.join(backupDir, `${b.backup_id}.lbk`), 'r+')
      const { size } = await fh.stat()
      await fh.write(Buffer.from([0x00]), 0, 1, Math.floor(size / 2))
      await fh.close()
      const v = (await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/verify`)).json()
      assert.equal(v.valid, false)
      assert.match(v.reason, /SHA-256 does not match/)
      const before = await snapshot(t.app)
      await t.app.db.query("UPDATE sessions SET description = 'after the backup'")
      const changed = await snapshot(t.app)
      const r = await restored(
        b.backup_id,
        (
          await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/restore?confirm=true`, {
            drop_existing: true
          })
        ).json().restore_id
      )
      assert.equal(r.status, 'failed')
      assert.match(r.error, /SHA-256/)
      assert.deepEqual(await snapshot(t.app), changed, 'nothing was changed')
      assert.notDeepEqual(changed, before)
    })

    test('a backup of a truncated file is refused', async () => {
      const b = await finished(
        (await inject(superAdmin, 'POST', '/api/v1/backups', { name: 'to-truncate', compression: false })).json()
          .backup_id
      )
      const fh = await open(path.join(backupDir, `${b.backup_id}.lbk`), 'r+')
      await fh.truncate(10)
      await fh.close()
      assert.equal((await inject(superAdmin, 'POST', `/api/v1/backups/${b.backup_id}/verify`)).json().valid, false)
    })

    test('list, delete, cleanup, and hostile names are rejected harmlessly', async () => {
      const list = (await inject(admin, 'GET', '/api/v1/backups?limit=2')).json()
      assert.equal(list.backups.length, 2)
      assert.ok(list.pagination.total >= 4)
      for (const payload of [
        { name: "x'; DROP TABLE users; --" },
        { name: 'ok', tables: ['users; DROP TABLE sessions'] },
        { name: 'ok', tables: ['"users"'] },
        { name: 'ok', retention_days: 0 }
      ]) {
        const res = await inject(superAdmin, 'POST', '/api/v1/backups', payload)
        assert.equal(res.statusCode, 422, JSON.stringify(payload))
        assert.equal(res.json().error.code, 'LUCID_ERR_1001')
      }
      assert.equal(
        (await inject(superAdmin, 'POST', '/api/v1/backups', { name: 'ok', tables: ['no_such_table'] })).statusCode,
        202
      )
      assert.equal((await inject(admin, 'GET', "/api/v1/backups?status=completed'--")).statusCode, 422)
      assert.equal((await t.app.db.query('SELECT 1 FROM users')).rows.length > 0, true)
      const id = list.backups[0].backup_id
      assert.equal((await inject(admin, 'DELETE', `/api/v1/backups/${id}?confirm=true`)).statusCode, 403)
      assert.equal((await inject(superAdmin, 'DELETE', `/api/v1/backups/${id}`)).statusCode, 422)
      assert.equal((await inject(superAdmin, 'DELETE', `/api/v1/backups/${id}?confirm=true`)).statusCode, 204)
      assert.equal((await inject(admin, 'GET', `/api/v1/backups/${id}`)).statusCode, 404)
      assert.equal(
        (await inject(superAdmin, 'POST', '/api/v1/backups/cleanup?confirm=true')).json().deleted,
        0,
        'nothing is past its retention yet'
      )
      await t.app.db.query("UPDATE backups SET expires_at = now() - interval '1 day' WHERE status = 'completed'")
      assert.ok((await inject(superAdmin, 'POST', '/api/v1/backups/cleanup?confirm=true')).json().deleted >= 1)
      assert.equal((await inject(admin, 'GET', '/api/v1/backups?status=completed')).json().pagination.total, 0)
    })

    test('teardown', async () => {
      await t.app.services.backups.idle()
      await t.close()
      await t.testDb.close()
      await rm(backupDir, { recursive: true, force: true })
    })
  })

test('a schedule firing on two instances at once runs one backup', async () => {
  let now = Date.parse('2026-12-02T10:00:30Z')
  const backupDir = await mkdtemp(path.join(tmpdir(), 'lucid-bks-'))
  const t = await buildTestApp({ now: () => now, env: { BACKUP_DIR: backupDir } })
  try {
    const admin = await login(t.app, { role: 'super_admin' })
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/backups/schedules',
      headers: admin.auth,
      payload: { name: 'bad', cron: '61 * * * *' }
    })
    assert.equal(bad.statusCode, 422)
    const s = await t.app.inject({
      method: 'POST',
      url: '/api/v1/backup-schedules',
      headers: admin.auth,
      payload: { name: 'hourly', cron: '0 * * * *' }
    })
    assert.equal(s.statusCode, 201, s.body)
    assert.equal(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/backups/schedules',
          headers: admin.auth,
          payload: { name: 'hourly', cron: '5 * * * *' }
        })
      ).statusCode,
      409,
      'the deprecated path is the same collection'
    )
    assert.deepEqual(
      (await t.app.inject({ url: '/api/v1/backup-schedules', headers: admin.auth }))
        .json()
        .schedules.map((x: { name: string }) => x.name),
      ['hourly']
    )
    const other = await t.sibling()
    assert.deepEqual(
      await Promise.all([t.app.services.backups.runSchedules(), other.services.backups.runSchedules()]),
      [[], []],
      'the current slot does not fire'
    )
    now = Date.parse('2026-12-02T11:00:05Z')
    const fired = await Promise.all([
      t.app.services.backups.runSchedules(),
      other.services.backups.runSchedules(),
      t.app.services.backups.runSchedules()
    ])
    assert.equal(fired.flat().length, 1)
    await Promise.all([t.app.services.backups.idle(), other.services.backups.idle()])
    const rows = (
      await t.app.db.query<{ status: string; schedule_id: string }>('SELECT status, schedule_id FROM backups')
    ).rows
    assert.deepEqual(rows, [{ status: 'completed', schedule_id: s.json().schedule_id }])
  } finally {
    await t.close()
    await rm(backupDir, { recursive: true, force: true })
  }
})

for (const [from, to] of [
  ['embedded', 'postgresql'],
  ['postgresql', 'embedded']
] as const) {
  test(`a backup made on ${from} restores on ${to}`, async (t) => {
    if (process.env.DATABASE_URL === undefined) {
      if (process.env.CI === 'true') throw new Error('DATABASE_URL must be set in CI')
      t.skip('SKIPPED: DATABASE_URL is not set')
      return
    }
    const backupDir = await mkdtemp(path.join(tmpdir(), 'lucid-bkx-'))
    const source = await buildTestApp({ db: await createTestDb(from), env: { BACKUP_DIR: backupDir } })
    const target = await createTestDb(to)
    try {
      const owner = await login(source.app)
      await source.app.inject({
        method: 'POST',
        url: '/api/v1/sessions',
        headers: owner.auth,
        payload: { name: 'crossing', description: `from ${from} to ${to}` }
      })
      const row = await source.app.services.backups.start(
        { name: 'cross', compression: true, encryption: true, retention_days: 1 },
        null
      )
      await source.app.services.backups.idle()
      await migrate(target.db)
      const r = await restoreBackup(
        createTableDataRepository(target.db),
        backupDir,
        row.backup_id,
        source.config.dataEncryptionKey
      )
      assert.ok(r.rows > 0)
      const q =
        'SELECT s.name, s.description, s.created_at, u.tron_address, u.role FROM sessions s JOIN users u USING (user_id) ORDER BY s.name'
      assert.deepEqual((await target.db.query(q)).rows, (await source.app.db.query(q)).rows)
      const count = 'SELECT count(*)::int AS n FROM auth_sessions'
      assert.deepEqual((await target.db.query(count)).rows, (await source.app.db.query(count)).rows)
    } finally {
      await source.close()
      await source.testDb.close()
      await target.close()
      await rm(backupDir, { recursive: true, force: true })
    }
  })
}
