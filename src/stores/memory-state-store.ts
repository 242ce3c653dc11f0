import { EventEmitter } from 'node:events'
import { redisGlobToRegExp, type SetOptions, type StateStore, type Unsubscribe } from './state-store.js'

interface Entry {
  value: string
  expiresAt: number | null
}

/** In-process StateStore for standalone mode and tests; the clock is injectable. */
export function createMemoryStateStore(opts: { now?: () => number } = {}): StateStore & { size(): number } {
  const now = opts.now ?? Date.now
  const map = new Map<string, Entry>()
  const bus = new EventEmitter()
  const startedAt = now()
  let hits = 0
  let misses = 0
  bus.setMaxListeners(0)

  const live = (key: string): Entry | undefined => {
    const e = map.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt !== null && e.expiresAt <= now()) {
      map.delete(key)
      return undefined
    }
    return e
  }
  // Expired entries are dropped lazily on access and by this sweep, so memory stays bounded.
  const sweep = setInterval(() => {
    const t = now()
    for (const [k, e] of map) if (e.expiresAt !== null && e.expiresAt <= t) map.delete(k)
  }, 30_000)
  sweep.unref()

  return {
    kind: 'memory',
    async get(key) {
      const v = live(key)?.value ?? null
      if (v === null) misses++
      else hits++
      return v
    },
    async set(key, value, o: SetOptions = {}) {
      if (o.nx && live(key) !== undefined) return false
      map.set(key, { value, expiresAt: o.ttlMs === undefined ? null : now() + o.ttlMs })
      return true
    },
    async del(key) {
      const had = live(key) !== undefined
      map.delete(key)
      return had
    },
    async take(key) {
      const e = live(key)
      map.delete(key)
      return e?.value ?? null
    },
    async incr(key, by, ttlMs) {
      const e = live(key)
      if (e === undefined) {
        map.set(key, { value: String(by), expiresAt: now() + ttlMs })
        return by
      }
      const n = Number(e.value) + by
      e.value = String(n)
      return n
    },
    async ttl(key) {
      const e = live(key)
      if (e === undefined || e.expiresAt === null) return null
      return e.expiresAt - now()
    },
    async publish(channel, message) {
      // Delivered asynchronously, like Redis pub/sub.
      setImmediate(() => bus.emit(channel, message))
    },
    async subscribe(channel, handler): Promise<Unsubscribe> {
      bus.on(channel, handler)
      return async () => void bus.off(channel, handler)
    },
    async ping() {
      return 0
    },
    async stats() {
      let bytes = 0
      for (const [k, e] of map) bytes += 2 * (k.length + e.value.length) + 48
      return {
        kind: 'memory',
        version: process.version,
        keys: map.size,
        memory_bytes: bytes,
        peak_memory_bytes: null,
        max_memory_bytes: null,
        clients: null,
        hits,
        misses,
        hit_rate: hits + misses === 0 ? null : hits / (hits + misses),
        evicted_keys: 0,
        uptime_s: Math.floor((now() - startedAt) / 1000)
      }
    },
    async scan(pattern, cursor, count) {
      // The cursor is the position in the (insertion-ordered) key list.
      const re = redisGlobToRegExp(pattern)
      const keys = [...map.keys()]
      const keysOut: string[] = []
      let i = Number(cursor) || 0
      for (; i < keys.length && keysOut.length < count; i++)
        if (re.test(keys[i]) && live(keys[i]) !== undefined) keysOut.push(keys[i])
      return { keys: keysOut, cursor: i >= keys.length ? '0' : String(i) }
    },
    async describe(key, opts = {}) {
      const e = live(key)
      if (e === undefined) return null
      const value = opts.value === false ? null : e.value
      const ttl = e.expiresAt === null ? null : e.expiresAt - now()
      return { key, type: 'string', ttl_ms: ttl, value, size_bytes: Buffer.byteLength(e.value) }
    },
    async close() {
      clearInterval(sweep)
      bus.removeAllListeners()
      map.clear()
    },
    size: () => map.size
  }
}
