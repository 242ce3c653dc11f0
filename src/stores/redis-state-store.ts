import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { SetOptions, StateStore, Unsubscribe } from './state-store.js'
import { StateStoreUnavailableError } from './state-store.js'
import { withDeadline } from './deadline.js'

export interface RedisStateStoreOptions {
  /** A single server (REDIS_URL)… */
  url?: string
  /** …or Redis Cluster seed nodes, host:port (REDIS_CLUSTER_NODES). */
  clusterNodes?: string[]
  /** Namespace for every key and channel, e.g. "lucid:". */
  prefix: string
  /** Client-side deadline per command, ms: nothing waits on a hung Redis longer than this. */
  commandTimeoutMs: number
  onError?: (err: Error) => void
}

// Counter with an expiry set only on creation, in one round-trip (STYLE.md: Redis work is atomic).
const INCR_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`

type LucidRedis = (Redis | Cluster) & { lucidIncr(key: string, by: number, ttlMs: number): Promise<number> }

export function redisOptions(_opts: RedisStateStoreOptions): RedisOptions {
  return {
    // No ioredis commandTimeout (a timer that a busy loop makes lie): guard() applies a
    // loop-aware deadline of commandTimeoutMs instead (deadline.ts).
    commandTimeout: undefined,
    // Fail fast while disconnected instead of queueing requests behind a dead server.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick share one write (issue 15): every request's limiter and
    // identity lookups otherwise cost a syscall each. Each Lua script is still one EVALSHA, so it
    // stays atomic; a disconnected client still fails fast (the commands go through sendCommand).
    enableAutoPipelining: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 100, 2_000)
  }
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&')

export async function createRedisStateStore(opts: RedisStateStoreOptions): Promise<StateStore> {
  const client = (
    opts.clusterNodes !== undefined && opts.clusterNodes.length > 0
      ? new Cluster(
          opts.clusterNodes.map((n) => {
            const [host, port] = n.split(':')
            return { host, port: Number(port) }
          }),
          {
            redisOptions: redisOptions(opts),
            enableAutoPipelining: true,
            enableOfflineQueue: false,
            clusterRetryStrategy: (times) => Math.min(times * 100, 2_000)
          }
        )
      : new Redis(opts.url as string, redisOptions(opts))
  ) as LucidRedis
  client.on('error', (err) => opts.onError?.(err))
  client.defineCommand('lucidIncr', { numberOfKeys: 1, lua: INCR_SCRIPT })
  let subscriber: Redis | Cluster | undefined
  const handlers = new Map<string, Set<(m: string) => void>>()
  const k = (key: string) => opts.prefix + key

  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      const miss = () => new Error(`Redis command not answered within ${opts.commandTimeoutMs} ms`)
      return await withDeadline(fn(), opts.commandTimeoutMs, miss)
    } catch (err) {
      throw new StateStoreUnavailableError(err)
    }
  }

  // Wait for the first connection (bounded) so start-up reports a clear error when Redis is absent.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${opts.clusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'}: could not connect within 5 s`)),
      5_000
    )
    client.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  }).catch(async (err) => {
    client.disconnect()
    throw err
  })

  return {
    kind: 'redis',
    redis: { client, prefix: opts.prefix },
    get: (key) => guard(() => client.get(k(key))),
    async set(key, value, o: SetOptions = {}) {
      return guard(async () => {
        const args: (string | number)[] = []
        if (o.ttlMs !== undefined) args.push('PX', Math.max(1, Math.ceil(o.ttlMs)))
        if (o.nx) args.push('NX')
        const res = await (client.set as unknown as (...a: (string | number)[]) => Promise<string | null>)(
          k(key),
          value,
          ...args
        )
        return res === 'OK'
      })
    },
    del: (key) => guard(async () => (await client.del(k(key))) > 0),
    take: (key) => guard(() => client.getdel(k(key))),
    incr: (key, by, ttlMs) =>
      guard(async () => Number(await client.lucidIncr(k(key), by, Math.max(1, Math.ceil(ttlMs))))),
    async ttl(key) {
      return guard(async () => {
        const t = await client.pttl(k(key))
        return t < 0 ? null : t
      })
    },
    publish: (channel, message) => guard(async () => void (await client.publish(k(channel), message))),
    async subscribe(channel, handler): Promise<Unsubscribe> {
      if (subscriber === undefined) {
        // A subscribed connection cannot run other commands: a dedicated one, with an offline
        // queue so subscriptions are restored after a reconnect.
        subscriber =
          client instanceof Cluster
            ? client.duplicate(undefined, {
                enableOfflineQueue: true,
                redisOptions: { ...redisOptions(opts), commandTimeout: undefined }
              })
            : client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
        subscriber.on('error', (err) => opts.onError?.(err))
        subscriber.on('message', (ch: string, msg: string) => {
          for (const h of handlers.get(ch) ?? []) h(msg)
        })
      }
      const full = k(channel)
      let set = handlers.get(full)
      if (set === undefined) {
        set = new Set()
        handlers.set(full, set)
        await subscriber.subscribe(full)
      }
      set.add(handler)
      return async () => {
        set.delete(handler)
        if (set.size === 0) {
          handlers.delete(full)
          // Bounded: the subscriber queues while Redis is away, and shutdown must not wait for it.
          await Promise.race([
            subscriber?.unsubscribe(full).catch(() => undefined),
            new Promise((r) => setTimeout(r, 500).unref())
          ])
        }
      }
    },
    async stats() {
      return guard(async () => {
        const nodes = client instanceof Cluster ? client.nodes('master') : [client]
        const infos = await Promise.all(nodes.map(async (n) => parseInfo(await n.info())))
        const sum = (f: string) => infos.reduce((a, i) => a + Number(i[f] ?? 0), 0)
        const hits = sum('keyspace_hits')
        const misses = sum('keyspace_misses')
        const keys = (await Promise.all(nodes.map((n) => n.dbsize()))).reduce((a, b) => a + b, 0)
        return {
          kind: 'redis' as const,
          version: infos[0]?.redis_version ?? null,
          keys,
          memory_bytes: sum('used_memory'),
          peak_memory_bytes: sum('used_memory_peak'),
          max_memory_bytes: sum('maxmemory') || null,
          clients: sum('connected_clients'),
          hits,
          misses,
          hit_rate: hits + misses === 0 ? null : hits / (hits + misses),
          evicted_keys: sum('evicted_keys'),
          uptime_s: Number(infos[0]?.uptime_in_seconds ?? 0)
        }
      })
    },
    async scan(pattern, cursor, count) {
      return guard(async () => {
        // In a cluster the cursor carries the node: "<node index>:<cursor>".
        const nodes = client instanceof Cluster ? client.nodes('master') : [client]
        let [nodeIndex, nodeCursor] = cursor.includes(':') ? cursor.split(':').map(Number) : [0, Number(cursor) || 0]
        const match = escapeGlob(opts.prefix) + pattern
        const keys: string[] = []
        while (nodeIndex < nodes.length) {
          const [next, found] = await nodes[nodeIndex].scan(nodeCursor, 'MATCH', match, 'COUNT', count)
          keys.push(...found.map((f) => f.slice(opts.prefix.length)))
          nodeCursor = Number(next)
          if (nodeCursor === 0) nodeIndex++
          if (keys.length >= count || nodeCursor !== 0) break
        }
        const done = nodeIndex >= nodes.length
        return { keys, cursor: done ? '0' : nodes.length > 1 ? `${nodeIndex}:${nodeCursor}` : String(nodeCursor) }
      })
    },
    async describe(key, o = {}) {
      return guard(async () => {
        const full = k(key)
        const type = await client.type(full)
        if (type === 'none') return null
        const [ttl, size] = await Promise.all([
          client.pttl(full),
          (client.call('MEMORY', 'USAGE', full) as Promise<number | null>).catch(() => null)
        ])
        const value = type === 'string' && o.value !== false ? await client.getrange(full, 0, 65_535) : null
        return { key, type, ttl_ms: ttl < 0 ? null : ttl, value, size_bytes: size === null ? null : Number(size) }
      })
    },
    async ping() {
      return guard(async () => {
        const start = performance.now()
        await client.ping()
        return performance.now() - start
      })
    },
    async close() {
      subscriber?.disconnect()
      // QUIT lets pending replies arrive, but must not hang shutdown when Redis is gone.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([client.quit().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1_000)))])
      clearTimeout(timer)
      client.disconnect()
    }
  }
}
