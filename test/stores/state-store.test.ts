/** One contract suite, run against the in-process store and real Redis (issue 2, item 4). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestStateStore } from '../helpers/stores.js'

const kinds: ('memory' | 'redis')[] = ['memory']
if (process.env.REDIS_URL || process.env.CI === 'true') kinds.push('redis')

for (const kind of kinds) {
  describe(`state store contract: ${kind}`, () => {
    test('set/get/del with NX and expiry', async () => {
      const { store, close } = await createTestStateStore(kind)
      try {
        assert.equal(await store.get('a'), null)
        assert.equal(await store.set('a', '1'), true)
        assert.equal(await store.set('a', '2', { nx: true }), false)
        assert.equal(await store.get('a'), '1')
        assert.equal(await store.set('b', 'x', { ttlMs: 50 }), true)
        const ttl = await store.ttl('b')
        assert.ok(ttl !== null && ttl > 0 && ttl <= 50)
        await sleep(80)
        assert.equal(await store.get('b'), null)
        assert.equal(await store.del('a'), true)
        assert.equal(await store.del('a'), false)
      } finally {
        await close()
      }
    })

    test('take is single-use even when raced', async () => {
      const { store, close } = await createTestStateStore(kind)
      try {
        await store.set('nonce', 'v', { ttlMs: 10_000 })
        const results = await Promise.all(Array.from({ length: 20 }, () => store.take('nonce')))
        assert.equal(results.filter((r) => r === 'v').length, 1)
        assert.equal(await store.take('nonce'), null)
      } finally {
        await close()
      }
    })

    test('incr is atomic under concurrency and keeps the expiry from creation', async () => {
      const { store, close } = await createTestStateStore(kind)
      try {
        const values = await Promise.all(Array.from({ length: 100 }, () => store.incr('ctr', 1, 60_000)))
        assert.deepEqual([...values].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1))
        const ttl = await store.ttl('ctr')
        assert.ok(ttl !== null && ttl > 50_000)
        assert.equal(await store.incr('ctr', 5, 1), 105, 'a later ttl does not reset the counter')
      } finally {
        await close()
      }
    })

    test('publish reaches every subscriber, and unsubscribe stops delivery', async () => {
      const { store, close } = await createTestStateStore(kind)
      try {
        const got: string[] = []
        const unsub = await store.subscribe('chan', (m) => got.push(`1:${m}`))
        const unsub2 = await store.subscribe('chan', (m) => got.push(`2:${m}`))
        await store.publish('chan', 'hello')
        for (let i = 0; i < 50 && got.length < 2; i++) await sleep(10)
        assert.deepEqual(got.sort(), ['1:hello', '2:hello'])
        await unsub()
        await unsub2()
        await store.publish('chan', 'late')
        await sleep(50)
        assert.equal(got.length, 2)
        assert.ok((await store.ping()) >= 0)
      } finally {
        await close()
      }
    })
  })
}
