/**
 * The repositories that took over SQL from routes and plugins (issue 16): each method on both
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
  })
}

test('identifiers: one quoting rule for names and schema-qualified names', () => {
  assert.equal(quoteIdent('plain'), '"plain"')
  assert.equal(quoteIdent('we"ird'), '"we""ird"')
  assert.equal(quoteQualified('user_data.t"x'), '"user_data"."t""x"')
})
