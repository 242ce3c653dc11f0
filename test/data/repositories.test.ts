/**
 * The repositories that took over SQL from routes, plugins and src/backup (issue 16): each method on both
 * adapters, against a migrated database, checked by the rows it leaves behind.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createTrustPoliciesRepository } from '../../src/data/repositories/trust-policies.js'
import { createAuthSessionsRepository } from '../../src/data/repositories/auth-sessions.js'
import { createSessionsRepository } from '../../src/data/repositories/sessions.js'
import { createAuditRepository } from '../../src/data/repositories/audit.js'
import { createBackupsRepository } from '../../src/data/repositories/backups.js'
import { createBackupSchedulesRepository } from '../../src/data/repositories/backup-schedules.js'
import { createTableDataRepository } from '../../src/data/repositories/table-data.js'
import { quoteIdent, quoteQualified } from '../../src/data/identifiers.js'
import { createTestDb, dbKinds, type TestDb } from '../helpers/stores.js'

const count = async (t: TestDb, sql: string, params: unknown[] = []) =>
  Number((await t.db.query<{ n: number }>(sql, params)).rows[0].n)
const policy = (name: string) => ({ name, description: null, rules: [], enabled: true, policy_hash: `h-${name}` })

for (const kind of dbKinds()) {
  describe(`repositories on ${kind}`, () => {
    let t: TestDb
    let userId: string
    before(async () => {
      t = await createTestDb(kind)
      await migrate(t.db)
      userId = (await createUsersRepository(t.db).createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' }))
        .user.user_id
    })
    after(() => t.close())

    test('trust policies: create, count, page, replace, delete', async () => {
      const repo = createTrustPoliciesRepository(t.db)
      const a = await repo.create({ policy_id: randomUUID(), user_id: userId, ...policy('a') })
      const b = await repo.create({ policy_id: randomUUID(), user_id: userId, ...policy('b') })
      assert.equal(await repo.countForUser(userId), 2)
      const page1 = await repo.listForUser(userId, 1, 1)
      assert.equal(page1.total, 2)
      assert.equal(page1.rows.length, 1)
      const page2 = await repo.listForUser(userId, 2, 1)
      assert.notEqual(page2.rows[0].policy_id, page1.rows[0].policy_id, 'pages do not overlap')
      const rules = [
        { rule_id: 'r1', type: 'deny' as const, condition: 'true', action: 'block', priority: 1, enabled: true }
      ]
      const replaced = await repo.replace(a.policy_id, { ...policy('a2'), rules })
      assert.equal(replaced?.name, 'a2')
      assert.deepEqual((await repo.findById(a.policy_id))?.rules, rules, 'rules round-trip as jsonb')
      assert.equal(await repo.replace(randomUUID(), policy('x')), null)
      assert.equal(await repo.delete(b.policy_id), true)
      assert.equal(await repo.delete(b.policy_id), false)
      assert.equal(await repo.findById(b.policy_id), null)
      assert.equal(await count(t, 'SELECT count(*)::int AS n FROM trust_policies WHERE user_id = $1', [userId]), 1)
    })

    test('auth sessions: listActive pages active ones only; purgeEndedBefore deletes ended ones', async () => {
      const repo = createAuthSessionsRepository(t.db)
      const now = Date.now()
      const mk = (expiresIn: number) =>
        repo.create({
          session_id: randomUUID(),
          user_id: userId,
          method: 'email',
          refresh_jti: randomUUID(),
          ip: null,
          user_agent: null,
          expires_at: new Date(now + expiresIn)
        })
      const live1 = await mk(3_600_000)
      await mk(3_600_000)
      const expired = await mk(-10 * 86_400_000)
      await repo.revoke(live1.session_id, 'test')
      const list = await repo.listActive({ now: new Date(now), userId, page: 1, limit: 10 })
      assert.equal(list.total, 1, 'revoked and expired sessions are not active')
      assert.equal(list.rows.length, 1)
      assert.deepEqual(Object.keys(list.rows[0]).sort(), [
        'created_at',
        'expires_at',
        'ip',
        'last_used_at',
        'session_id',
        'user_agent',
        'user_id'
      ])
      assert.equal((await repo.listActive({ now: new Date(now), userId: randomUUID(), page: 1, limit: 10 })).total, 0)
      assert.equal(await repo.purgeEndedBefore(new Date(now - 86_400_000)), 1, 'only the session expired ten days ago')
      assert.equal(await repo.findById(expired.session_id), null)
      assert.equal(
        await repo.purgeEndedBefore(new Date(now + 60_000)),
        1,
        'the revoked one goes once the cutoff passes its revocation'
      )
    })

    test('sessions: exists, holdingsOfUser, deletedBefore, purge', async () => {
      const repo = createSessionsRepository(t.db)
      const s = await repo.create({
        session_id: randomUUID(),
        user_id: userId,
        name: 's',
        description: null,
        max_size_bytes: 1000,
        trust_policy_id: null,
        metadata: {}
      })
      await t.db.transaction((tx) =>
        repo.addChunk({ session_id: s.session_id, chunk_index: 0, size_bytes: 10, sha256: 'x' }, tx)
      )
      assert.equal(await repo.exists(s.session_id), true)
      assert.equal(await repo.exists(randomUUID()), false)
      const h = await repo.holdingsOfUser(userId)
      assert.ok(h.sessionIds.includes(s.session_id))
      assert.equal(h.chunks, 1)
      assert.deepEqual(await repo.deletedBefore(1, 10), [], 'a live session is not a purge candidate')
      await t.db.query("UPDATE sessions SET deleted_at = now() - interval '3 days' WHERE session_id = $1", [
        s.session_id
      ])
      assert.deepEqual(await repo.deletedBefore(5, 10), [], 'younger than the retention')
      assert.deepEqual(await repo.deletedBefore(2, 10), [s.session_id])
      await repo.purge(s.session_id)
      assert.equal(await repo.exists(s.session_id), false)
      assert.equal(await count(t, 'SELECT count(*)::int AS n FROM chunks WHERE session_id = $1', [s.session_id]), 0)
    })

    test('audit: list filters and pages newest first; head is the newest entry', async () => {
      const repo = createAuditRepository(t.db)
      assert.equal(await repo.head(), null)
      await repo.append({ action: 'auth.login', actor_id: userId })
      await repo.append({ action: 'auth.logout', actor_id: userId })
      await repo.append({ action: 'user.updated', target_type: 'user', target_id: userId })
      const all = await repo.list({ page: 1, limit: 2 })
      assert.equal(all.total, 3)
      assert.deepEqual(
        all.rows.map((r) => r.action),
        ['user.updated', 'auth.logout']
      )
      assert.equal(typeof all.rows[0].audit_id, 'number')
      assert.match(all.rows[0].occurred_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
      assert.equal((await repo.list({ action: 'auth.', page: 1, limit: 10 })).total, 2, 'a trailing dot is a prefix')
      assert.equal((await repo.list({ action: 'auth.', actor_id: userId, page: 1, limit: 10 })).total, 2)
      assert.equal((await repo.list({ action: 'auth', page: 1, limit: 10 })).total, 0, 'without the dot it is exact')
      assert.equal((await repo.list({ target_type: 'user', target_id: userId, page: 1, limit: 10 })).total, 1)
      assert.equal((await repo.list({ from: '2999-01-01T00:00:00Z', page: 1, limit: 10 })).total, 0)
      const head = await repo.head()
      assert.equal(head?.entries, 3)
      assert.equal(head?.hash, all.rows[0].hash)
      assert.equal(head?.audit_id, all.rows[0].audit_id)
    })

    test("users: deleteById cascades to the user's policies", async () => {
      const users = createUsersRepository(t.db)
      const u = (await users.createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' })).user
      await createTrustPoliciesRepository(t.db).create({ policy_id: randomUUID(), user_id: u.user_id, ...policy('p') })
      assert.equal(await t.db.transaction((tx) => users.deleteById(u.user_id, tx)), true)
      assert.equal(await users.findById(u.user_id), null)
      assert.equal(await count(t, 'SELECT count(*)::int AS n FROM trust_policies WHERE user_id = $1', [u.user_id]), 0)
      assert.equal(await users.deleteById(u.user_id), false)
    })

    test('backups: newest completion time; finished restores purged after the cutoff', async () => {
      const repo = createBackupsRepository(t.db)
      assert.equal(await repo.lastCompletedEpochSeconds(), 0)
      const id = randomUUID()
      await t.db.query(
        `INSERT INTO backups (backup_id, name, status, compression, encryption, retention_days, completed_at, expires_at)
         VALUES ($1, 'b', 'completed', false, false, 1, '2026-01-02T03:04:05Z', now())`,
        [id]
      )
      assert.equal(await repo.lastCompletedEpochSeconds(), Date.parse('2026-01-02T03:04:05Z') / 1000)
      const restore = (status: string, completed: string | null) =>
        t.db.query(
          'INSERT INTO backup_restores (restore_id, backup_id, status, drop_existing, completed_at) VALUES ($1, $2, $3, false, $4)',
          [randomUUID(), id, status, completed]
        )
      await restore('completed', '2020-01-01T00:00:00Z')
      await restore('failed', '2020-01-01T00:00:00Z')
      await restore('completed', '2026-06-01T00:00:00Z')
      await restore('running', null)
      assert.equal(await repo.purgeFinishedRestores(new Date('2025-01-01T00:00:00Z')), 2)
      assert.equal(await count(t, 'SELECT count(*)::int AS n FROM backup_restores'), 2)
    })

    test('backups: the catalogue records, pages, filters and soft-deletes', async () => {
      const repo = createBackupsRepository(t.db)
      const name = `cat-${randomUUID().slice(0, 8)}`
      const b = (n: string, expires: string) =>
        repo.create({
          name: `${name}-${n}`,
          tables: n === 'a' ? ['public.users'] : null,
          compression: true,
          encryption: false,
          retention_days: 7,
          schedule_id: null,
          created_by: null,
          expires_at: new Date(expires)
        })
      const a = await b('a', '2020-01-01T00:00:00Z')
      const c = await b('c', '2999-01-01T00:00:00Z')
      assert.equal(a.status, 'pending')
      assert.deepEqual(a.tables, ['public.users'])
      await repo.markRunning(a.backup_id)
      assert.equal((await repo.get(a.backup_id))?.status, 'running')
      await repo.markCompleted(a.backup_id, { size_bytes: 42, sha256: 'ab', schema_version: 3, row_counts: { x: 1 } })
      const done = await repo.get(a.backup_id)
      assert.equal(done?.status, 'completed')
      assert.equal(Number(done?.size_bytes), 42)
      assert.deepEqual(done?.row_counts, { x: 1 })
      await repo.markFailed(c.backup_id, 'disk full')
      assert.equal((await repo.get(c.backup_id))?.error, 'disk full')

      const failed = await repo.list({ page: 1, limit: 100, status: 'failed' })
      assert.ok(failed.rows.every((r) => r.status === 'failed'))
      assert.ok(failed.rows.some((r) => r.backup_id === c.backup_id))
      const all = await repo.list({ page: 1, limit: 1, type: 'full' })
      assert.equal(all.rows.length, 1)
      assert.ok(all.total >= 2)
      const page2 = await repo.list({ page: 2, limit: 1, type: 'full' })
      assert.notEqual(page2.rows[0].backup_id, all.rows[0].backup_id)
      // A filter value is a parameter, never SQL.
      assert.equal((await repo.list({ page: 1, limit: 10, status: "x' OR '1'='1" })).total, 0)

      const expired = await repo.expiredIds(new Date('2026-01-01T00:00:00Z'))
      assert.ok(expired.includes(a.backup_id) && !expired.includes(c.backup_id))
      assert.equal(await repo.softDelete(a.backup_id), true)
      assert.equal(await repo.softDelete(a.backup_id), false)
      assert.equal(await repo.get(a.backup_id), null)
      assert.ok(!(await repo.expiredIds(new Date('2026-01-01T00:00:00Z'))).includes(a.backup_id))

      const r = await repo.createRestore({
        backup_id: c.backup_id,
        tables: null,
        drop_existing: true,
        created_by: null
      })
      assert.equal(r.status, 'pending')
      await repo.markRestoreRunning(r.restore_id)
      assert.equal((await repo.getRestore(r.restore_id))?.status, 'running')
      await repo.markRestoreCompleted(r.restore_id, 12)
      const restored = await repo.getRestore(r.restore_id)
      assert.equal(restored?.status, 'completed')
      assert.equal(Number(restored?.rows_restored), 12)
      const r2 = await repo.createRestore({
        backup_id: c.backup_id,
        tables: ['t'],
        drop_existing: false,
        created_by: null
      })
      await repo.markRestoreFailed(r2.restore_id, 'corrupt')
      assert.equal((await repo.getRestore(r2.restore_id))?.error, 'corrupt')
      assert.equal(await repo.getRestore(randomUUID()), null)
    })

    test('backup schedules: create, list, claim each slot once, delete', async () => {
      const repo = createBackupSchedulesRepository(t.db)
      const s = await repo.create({
        name: `s-${randomUUID().slice(0, 8)}`,
        cron: '0 * * * *',
        tables: null,
        compression: true,
        encryption: false,
        retention_days: 3,
        enabled: true,
        last_run_at: new Date('2026-01-01T00:00:00Z'),
        created_by: null
      })
      assert.ok((await repo.list()).some((x) => x.schedule_id === s.schedule_id))
      assert.equal(await repo.claimSlot(s.schedule_id, new Date('2026-01-01T00:00:00Z')), false)
      assert.equal(await repo.claimSlot(s.schedule_id, new Date('2026-01-01T01:00:00Z')), true)
      assert.equal(await repo.claimSlot(s.schedule_id, new Date('2026-01-01T01:00:00Z')), false)
      assert.equal(await repo.delete(s.schedule_id), true)
      assert.equal(await repo.delete(s.schedule_id), false)
    })

    test('table data: a snapshot streams rows; a write truncates, inserts, resets sequences, keeps revocations', async () => {
      const data = createTableDataRepository(t.db)
      const table = `user_data.td_${randomUUID().slice(0, 8)}`
      await t.db.exec(`CREATE SCHEMA IF NOT EXISTS user_data;
        CREATE TABLE ${quoteQualified(table)} (id uuid PRIMARY KEY, n serial, revoked_at timestamptz, note text,
          twice int GENERATED ALWAYS AS (n * 2) STORED)`)
      const ids = [randomUUID(), randomUUID(), randomUUID()]
      for (const id of ids) await t.db.query(`INSERT INTO ${quoteQualified(table)} (id, note) VALUES ($1, 'x')`, [id])

      const dumped = await data.readSnapshot(async (s) => {
        assert.ok((await s.schemaVersion()) > 0)
        assert.ok((await s.tables(['user_data'])).includes(table))
        assert.equal(await s.count(table), 3)
        const batches: string[][] = []
        for await (const b of s.rows(table, 2)) batches.push(b)
        return batches
      })
      assert.deepEqual(
        dumped.map((b) => b.length),
        [2, 1]
      )
      const rows = dumped.flat().map((r) => JSON.parse(r) as Record<string, unknown>)
      assert.equal(rows[0].twice, Number(rows[0].n) * 2)

      // The present: the first row revoked, the third deleted.
      await t.db.query(`UPDATE ${quoteQualified(table)} SET revoked_at = now() WHERE id = $1`, [ids[0]])
      await t.db.query(`DELETE FROM ${quoteQualified(table)} WHERE id = $1`, [ids[2]])
      const revoked = await data.write(async (w) => {
        const present = await w.selectColumns(table, ['id', 'revoked_at'])
        assert.equal(present.length, 2)
        await w.truncate([table])
        assert.equal(await w.insertRows(table, rows, { skipExisting: false }), 3)
        assert.equal(await w.insertRows(table, rows, { skipExisting: true }), 0)
        await w.resetSequences([table])
        await w.overwriteColumns(table, 'id', present, ['revoked_at'], ['revoked_at'])
        return w.revokeAllExcept(
          table,
          'id',
          present.map((p) => p.id)
        )
      })
      assert.equal(revoked, 1)
      const after = await t.db.query<{ id: string; revoked: boolean; twice: number; n: number }>(
        `SELECT id, revoked_at IS NOT NULL AS revoked, twice, n FROM ${quoteQualified(table)} ORDER BY n`
      )
      assert.deepEqual(
        after.rows.map((r) => [r.id, r.revoked]),
        [
          [ids[0], true],
          [ids[1], false],
          [ids[2], true]
        ]
      )
      // The sequence continues after the restored values.
      await t.db.query(`INSERT INTO ${quoteQualified(table)} (id) VALUES ($1)`, [randomUUID()])
      assert.equal(await count(t, `SELECT max(n)::int AS n FROM ${quoteQualified(table)}`), 4)
      // A failed write changes nothing.
      await assert.rejects(
        data.write(async (w) => {
          await w.truncate([table])
          throw new Error('boom')
        }),
        /boom/
      )
      assert.equal(await count(t, `SELECT count(*)::int AS n FROM ${quoteQualified(table)}`), 4)
      await t.db.exec(`DROP TABLE ${quoteQualified(table)}`)
    })
  })
}

test('identifiers: one quoting rule for names and schema-qualified names', () => {
  assert.equal(quoteIdent('plain'), '"plain"')
  assert.equal(quoteIdent('we"ird'), '"we""ird"')
  assert.equal(quoteQualified('user_data.t"x'), '"user_data"."t""x"')
})
