/**
 * The volumes repository (issue 16: out of src/volumes) on both adapters: rows, quotas as
 * numbers, a taken name, usage samples and their pruning.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { migrate } from '../../src/data/migrate.js'
import { createVolumesRepository } from '../../src/data/repositories/volumes.js'
import { createTestDb, dbKinds, type TestDb } from '../helpers/stores.js'

for (const kind of dbKinds()) {
  describe(`volumes repository on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await createTestDb(kind)
      await migrate(t.db)
    })
    after(() => t.close())

    test('insert, find, list, update, a taken name, remove with its samples', async () => {
      const repo = createVolumesRepository(t.db)
      const created = await repo.insert('media', 5_000_000_000, null)
      assert.equal(created?.quota_bytes, 5_000_000_000, 'BIGINT quota comes back as a number')
      assert.equal(created?.status, 'active')
      assert.equal(await repo.insert('media', 1, null), null, 'a taken name inserts nothing')
      await repo.ensureSystem('chunks', 10_000)
      await repo.ensureSystem('chunks', 20_000)
      assert.equal((await repo.find('chunks'))?.quota_bytes, 10_000, 'a system volume is created once')
      assert.deepEqual(
        (await repo.list()).map((v) => [v.name, v.system]),
        [
          ['chunks', true],
          ['media', false]
        ]
      )
      const updated = await repo.update('media', 'readonly', 6_000)
      assert.equal(updated?.status, 'readonly')
      assert.equal(updated?.quota_bytes, 6_000)
      assert.equal(await repo.update('nope', 'active', 1), null)

      const day = 86_400_000
      const now = Date.now()
      await repo.recordUsage('media', new Date(now - 40 * day), 1, 1)
      await repo.recordUsage('media', new Date(now - day), 100, 2)
      await repo.recordUsage('media', new Date(now - day), 999, 9) // same instant: kept once
      assert.equal((await repo.usageSince('media', new Date(now - 50 * day))).length, 2)
      await repo.pruneUsage(new Date(now - 31 * day))
      const left = await repo.usageSince('media', new Date(now - 50 * day))
      assert.deepEqual(
        left.map((s) => [Number(s.used_bytes), Number(s.files)]),
        [[100, 2]]
      )

      await repo.remove('media')
      assert.equal(await repo.find('media'), null)
      assert.equal((await repo.usageSince('media', new Date(0))).length, 0, 'its samples go with it')
    })
  })
}
