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

    test('admin: scan pages through a glob without other prefixes, describe, stats', async () => {
      const { store, close } = await createTestStateStore(kind)
      const other = await createTestStateStore(kind)
      try {
        for (let i = 0; i < 25; i++) await store.set(`cache:item:${i}`, `v${i}`)
        await store.set('cache:odd[1]', 'x', { ttlMs: 60_000 })
        await store.set('nonce:1', 'n')
        await other.store.set('cache:item:foreign', 'not mine')
        const seen = new Set<string>()
        let cursor = '0'
        let rounds = 0
        do {
          const page = await store.scan('cache:item:*', cursor, 10)
          for (const k of page.keys) seen.add(k)
          cursor = page.cursor
          rounds++
        } while (cursor !== '0' && rounds < 1000)
        assert.equal(seen.size, 25)
        assert.ok(
          [...seen].every((k) => /^cache:item:\d+$/.test(k)),
          "only this store's keys, without the prefix"
        )
        // Glob metacharacters escaped in the pattern match themselves, across every SCAN page.
        const odd: string[] = []
        cursor = '0'
        do {
          const page = await store.scan('cache:odd\\[1\\]', cursor, 100)
          odd.push(...page.keys)
          cursor = page.cursor
        } while (cursor !== '0')
        assert.deepEqual(odd, ['cache:odd[1]'])
        const info = await store.describe('cache:odd[1]')
        assert.equal(info?.type, 'string')
        assert.equal(info?.value, 'x')
        assert.ok(info?.ttl_ms !== null && (info?.ttl_ms as number) > 0)
        assert.equal(await store.describe('missing'), null)
        await store.get('cache:item:1')
        await store.get('cache:nothing')
        const stats = await store.stats()
        assert.equal(stats.kind, kind)
        assert.ok(stats.keys >= 27)
        assert.ok((stats.hits ?? 0) >= 1 && (stats.misses ?? 0) >= 1)
        assert.ok(stats.memory_bytes !== null && stats.memory_bytes > 0)
      } finally {
        await close()
        await other.close()
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
        assert.deepEqual(
          [...values].sort((x, y) => x - y),
          Array.from({ length: 100 }, (_, i) => i + 1)
        )
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
