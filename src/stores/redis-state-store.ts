import { Redis, type RedisOptions } from 'ioredis'
import type { SetOptions, StateStore, Unsubscribe } from './state-store.js'
import { StateStoreUnavailableError } from './state-store.js'

export interface RedisStateStoreOptions {
  url: string
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

type LucidRedis = Redis & { lucidIncr(key: string, by: number, ttlMs: number): Promise<number> }

export function redisOptions(opts: RedisStateStoreOptions): RedisOptions {
  return {
    commandTimeout: opts.commandTimeoutMs,
    // Fail fast while disconnected instead of queueing requests behind a dead server.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 100, 2_000)
  }
}

export async function createRedisStateStore(opts: RedisStateStoreOptions): Promise<StateStore & { client: Redis; prefix: string }> {
  const client = new Redis(opts.url, redisOptions(opts)) as LucidRedis
  client.on('error', (err) => opts.onError?.(err))
  client.defineCommand('lucidIncr', { numberOfKeys: 1, lua: INCR_SCRIPT })
  let subscriber: Redis | undefined
  const handlers = new Map<string, Set<(m: string) => void>>()
  const k = (key: string) => opts.prefix + key

  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      throw new StateStoreUnavailableError(err)
    }
  }

  // Wait for the first connection (bounded) so start-up reports a clear error when Redis is absent.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`REDIS_URL: could not connect within 5 s`)), 5_000)
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
    client,
    prefix: opts.prefix,
    get: (key) => guard(() => client.get(k(key))),
    async set(key, value, o: SetOptions = {}) {
      return guard(async () => {
        const args: (string | number)[] = []
        if (o.ttlMs !== undefined) args.push('PX', Math.max(1, Math.ceil(o.ttlMs)))
        if (o.nx) args.push('NX')
        const res = await (client.set as unknown as (...a: (string | number)[]) => Promise<string | null>)(k(key), value, ...args)
        return res === 'OK'
      })
    },
    del: (key) => guard(async () => (await client.del(k(key))) > 0),
    take: (key) => guard(() => client.getdel(k(key))),
    incr: (key, by, ttlMs) => guard(async () => Number(await client.lucidIncr(k(key), by, Math.max(1, Math.ceil(ttlMs))))),
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
        subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
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
          await subscriber?.unsubscribe(full).catch(() => undefined)
        }
      }
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
      await client.quit().catch(() => client.disconnect())
    }
  }
}
