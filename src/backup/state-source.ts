/**
 * The state store as a backup sees it: its unprotected string keys go into a full backup and come
 * back on restore. Security state (codes, refresh-grace records…) never leaves the store
 * (issue 12 finding 1), and a key whose TTL ran out while in the backup is not brought back.
 */
import type { StateStore } from '../stores/state-store.js'
import { isProtectedKey } from '../stores/protected-keys.js'
import type { StateEntry } from './backup.js'

export function stateStoreSource(store: StateStore) {
  return {
    async *entries(): AsyncIterable<StateEntry> {
      let cursor = '0'
      do {
        const page = await store.scan('*', cursor, 500)
        for (const k of page.keys) {
          // Security state never goes into a backup file (issue 12 finding 1): codes, grace records…
          if (isProtectedKey(k)) continue
          const info = await store.describe(k)
          if (info !== null && info.type === 'string' && info.value !== null)
            yield { k, v: info.value, ttl: info.ttl_ms }
        }
        cursor = page.cursor
      } while (cursor !== '0')
    },
    async restore(entries: StateEntry[]): Promise<number> {
      let n = 0
      for (const e of entries) {
        if (isProtectedKey(e.k) || (e.ttl !== null && e.ttl <= 0)) continue
        await store.set(e.k, e.v, { ttlMs: e.ttl ?? undefined })
        n++
      }
      return n
    }
  }
}
