import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { buildTestApp } from '../helpers/app.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'
import { startLucidBlocks } from '../support/stand-ins.js'

for (const kind of dbKinds())
  describe(`chain sync on ${kind}`, () => {
    test('copies blocks and transactions, is idempotent, resumes, and repairs a reorganisation', async () => {
      const chain = await startLucidBlocks({ blockIntervalMs: 3_600_000 })
      const t = await buildTestApp({ db: await createTestDb(kind), env: { BLOCKCHAIN_CORE_URL: chain.url } })
      try {
        const submit = async (type: string, data: object) => {
          const r = await request(`${chain.url}/api/v1/chain/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ type, data })
          })
          return ((await r.body.json()) as { transaction_id: string }).transaction_id
        }
        const anchorTx = await submit('session_anchor', {
          session_id: '11111111-2222-3333-4444-555555555555',
          merkle_root: 'ab'.repeat(32)
        })
        chain.mine()
        for (let i = 0; i < 4; i++) {
          await submit('transfer', { memo: `payment ${i}` })
          chain.mine()
        }
        const first = await t.app.services.chain.sync.run()
        assert.equal(first.inserted, chain.chain.length)
        assert.equal(first.height, chain.chain.length - 1)
        const localHashes = async () => (await t.app.services.chain.repo.range(0, 10_000)).map((b) => b.hash)
        assert.deepEqual(
          await localHashes(),
          chain.chain.map((b) => b.hash)
        )
        const anchors = await t.app.services.chain.repo.anchorsOfSession('11111111-2222-3333-4444-555555555555')
        assert.deepEqual(
          anchors.map((a) => a.transaction_id),
          [anchorTx]
        )
        assert.equal(anchors[0].block_height, 1)
        assert.equal((await t.app.services.chain.repo.transactionsOf(2)).length, 1)
        assert.equal((await t.app.services.chain.repo.byHash(chain.chain[3].hash))?.height, 3)

        const again = await t.app.services.chain.sync.run()
        assert.equal(again.inserted, 0, 'idempotent')

        for (let i = 0; i < 3; i++) chain.mine()
        const resumed = await t.app.services.chain.sync.run()
        assert.equal(resumed.inserted, 3)
        assert.equal(resumed.reorganised_from, null)

        // Reorganise from height 3: blocks 3.. are replaced by a different branch.
        const oldTx = (await t.app.services.chain.repo.transactionsOf(3))[0].transaction_id
        chain.reorg(3)
        chain.mine()
        const repaired = await t.app.services.chain.sync.run()
        assert.equal(repaired.reorganised_from, 3)
        assert.deepEqual(
          await localHashes(),
          chain.chain.map((b) => b.hash)
        )
        assert.equal(
          await t.app.services.chain.repo.transaction(oldTx),
          null,
          'transactions of dropped blocks are gone'
        )
        assert.equal(await t.app.services.chain.repo.chainHeight(), chain.chain.length - 1)

        // lucid_blocks down: the run fails cleanly and the next one catches up.
        chain.setHealthy(false, true)
        await assert.rejects(t.app.services.chain.sync.run())
        chain.setHealthy(true)
        chain.mine()
        assert.equal((await t.app.services.chain.sync.run()).inserted, 1)
      } finally {
        await t.close()
        await t.testDb.close()
        await chain.close()
      }
    })
  })
