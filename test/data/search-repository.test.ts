/**
 * The search repository (issue 16: out of routes/search) on both adapters: full-text matches,
 * filters, counts, suggestions and aggregations over rows it did not write itself.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createSessionsRepository } from '../../src/data/repositories/sessions.js'
import {
  createSearchRepository,
  fieldsOf,
  SEARCH_INDEX_NAMES,
  TEXT_INDEXES
} from '../../src/data/repositories/search.js'
import { createTestDb, dbKinds, type TestDb } from '../helpers/stores.js'

const q = (query: string, extra: object = {}) => ({ query, sort: 'relevance' as const, size: 20, from: 0, ...extra })

for (const kind of dbKinds()) {
  describe(`search repository on ${kind}`, () => {
    let t: TestDb
    let deletedId: string
    before(async () => {
      t = await createTestDb(kind)
      await migrate(t.db)
      const userId = (
        await createUsersRepository(t.db).createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' })
      ).user.user_id
      const sessions = createSessionsRepository(t.db)
      for (const [name, description] of [
        ['Quarterly review', 'walkthrough of the telemetry dashboard'],
        ['Onboarding', 'teleport demo for new operators'],
        ['Incident 42', 'database failover drill'],
        ['Gone', 'telemetry of a deleted session']
      ]) {
        const s = await sessions.create({
          session_id: randomUUID(),
          user_id: userId,
          name,
          description,
          max_size_bytes: 1000,
          trust_policy_id: null,
          metadata: {}
        })
        deletedId = s.session_id
      }
      await t.db.query('UPDATE sessions SET deleted_at = now() WHERE session_id = $1', [deletedId])
    })
    after(() => t.close())

    test('matches by words, ranks and highlights, filters exactly, leaves deleted rows out', async () => {
      const repo = createSearchRepository(t.db)
      const r = await repo.search('sessions', q('failover'))
      assert.equal(r.total, 1)
      assert.equal(r.hits[0].title, 'Incident 42')
      assert.equal(r.hits[0].index, 'sessions')
      assert.match(r.hits[0].highlight, /<mark>failover<\/mark>/)
      assert.equal(r.hits[0].document.description, 'database failover drill')
      assert.ok(r.hits[0].score > 0)
      assert.equal((await repo.search('sessions', q('telemetry'))).total, 1, 'the deleted session is not found')
      assert.equal((await repo.search('sessions', q('telemetry OR teleport', { size: 1 }))).hits.length, 1)
      assert.equal((await repo.search('sessions', q('telemetry OR teleport', { from: 1 }))).hits.length, 1)
      const newest = await repo.search('sessions', q('telemetry OR teleport', { sort: 'newest' }))
      assert.equal(newest.hits[0].title, 'Onboarding')
      assert.equal((await repo.search('sessions', q('drill', { filters: { status: 'initializing' } }))).total, 1)
      assert.equal((await repo.search('sessions', q('drill', { filters: { status: 'completed' } }))).total, 0)
      await assert.rejects(
        repo.search('sessions', q('drill', { filters: { 'name; DROP TABLE users': 'x' } })),
        /not available/
      )
      for (const text of ["'; DROP TABLE sessions; --", '"unbalanced', '!!! & | ( )'])
        assert.equal((await repo.search('sessions', q(text))).total, 0, text)
      for (const name of SEARCH_INDEX_NAMES)
        assert.equal(typeof (await repo.search(name, q('anything'))).total, 'number', name)
    })

    test('counts documents, suggests by prefix, aggregates by field and by day', async () => {
      const repo = createSearchRepository(t.db)
      assert.equal(await repo.count('sessions'), 3)
      assert.equal(await repo.count('users'), 1)
      const trigram = await repo.enableTrigram()
      for (const useTrigram of trigram ? [true, false] : [false]) {
        const words = await repo.suggest('sessions', 'tele', 10, useTrigram)
        assert.deepEqual(words.map((w) => w.text).sort(), ['telemetry', 'teleport'])
        assert.deepEqual(await repo.suggest('sessions', "%' or 1=1 --", 10, useTrigram), [])
      }
      assert.deepEqual(await repo.aggregate('sessions', { field: 'status', size: 20 }), [
        { key: 'initializing', count: 3 }
      ])
      assert.deepEqual(await repo.aggregate('sessions', { field: 'status', query: 'failover', size: 20 }), [
        { key: 'initializing', count: 1 }
      ])
      const days = await repo.aggregate('sessions', { interval: 'day', size: 20 })
      assert.equal(days.length, 1)
      assert.equal(days[0].count, 3)
      assert.match(days[0].key ?? '', /^\d{4}-\d\d-\d\dT00:00:00Z$/)
      await assert.rejects(repo.aggregate('sessions', { field: 'password_hash', size: 20 }), /not available/)
      assert.deepEqual(fieldsOf('sessions'), ['status', 'user_id'])
    })

    test('rebuilds the full-text indexes', async () => {
      assert.deepEqual(await createSearchRepository(t.db).reindex(), [...TEXT_INDEXES])
    })
  })
}
