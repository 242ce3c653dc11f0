import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createPgDb } from '../../src/data/pg-db.js'
import { migrate, loadMigrations, schemaVersion } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'

for (const kind of dbKinds()) {
  describe(`data layer on ${kind}`, () => {
    test('migrations apply once, are recorded with checksums, and a second run is a no-op', async () => {
      const t = await createTestDb(kind)
      try {
        const first = await migrate(t.db)
        const all = await loadMigrations()
        assert.deepEqual(
          first.applied,
          all.map((m) => m.name)
        )
        const second = await migrate(t.db)
        assert.deepEqual(second.applied, [])
        assert.equal(await schemaVersion(t.db), all.length)
        const { rows } = await t.db.query<{ version: number; checksum: string }>(
          'SELECT version, checksum FROM schema_migrations ORDER BY version'
        )
        assert.deepEqual(
          rows.map((r) => r.checksum),
          all.map((m) => m.checksum)
        )
      } finally {
        await t.close()
      }
    })

    test('a transaction that throws leaves nothing behind', async () => {
      const t = await createTestDb(kind)
      try {
        await migrate(t.db)
        const users = createUsersRepository(t.db)
        await assert.rejects(
          t.db.transaction(async (tx) => {
            await users.createOrGet({ email: 'Rollback@Example.com', role: 'user' }, tx)
            throw new Error('boom')
          }),
          /boom/
        )
        assert.equal(await users.findByEmail('rollback@example.com'), null)
        const { user, created } = await users.createOrGet({ email: 'Kept@Example.com', role: 'user' })
        assert.equal(created, true)
        assert.equal(user.email, 'kept@example.com', 'emails are stored lower-cased')
        const again = await users.createOrGet({ email: 'kept@example.com', role: 'user' })
        assert.equal(again.created, false)
        assert.equal(again.user.user_id, user.user_id)
        const { rows } = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM users')
        assert.equal(rows[0].n, 1)
        assert.equal(typeof rows[0].n, 'number', 'int8 comes back as a number on both adapters')
      } finally {
        await t.close()
      }
    })
  })
}

test(
  'two instances migrating the same PostgreSQL database at once apply each migration once',
  { skip: !process.env.DATABASE_URL && process.env.CI !== 'true' ? 'SKIPPED: DATABASE_URL not set' : false },
  async () => {
    const t = await createTestDb('postgresql')
    const a = createPgDb({ connectionString: t.url as string, max: 2 })
    const b = createPgDb({ connectionString: t.url as string, max: 2 })
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)])
      const total = (await loadMigrations()).length
      assert.equal(ra.applied.length + rb.applied.length, total, 'each migration applied by exactly one instance')
      const { rows } = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations')
      assert.equal(rows[0].n, total)
    } finally {
      await a.close()
      await b.close()
      await t.close()
    }
  }
)
