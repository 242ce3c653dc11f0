/**
 * How many gateway processes share the limits: each one writes a heartbeat into a sorted set in
 * Redis, scored by Redis's own clock (no skew between machines), and counts the members heard from
 * within INSTANCE_TTL_MS. The count divides the limits while Redis is away (degraded shares), so it
 * must follow instances starting and stopping within a few seconds (issue 14): a clean stop removes
 * its member at once, a killed process drops out after at most INSTANCE_TTL_MS + HEARTBEAT_MS.
 * While Redis is unreachable the last count is kept.
 */
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

export const HEARTBEAT_MS = 1_000
/** Long enough that a process whose loop stalls for a few seconds is not counted out. */
export const INSTANCE_TTL_MS = 5_000

const BEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 3)
return redis.call('ZCARD', KEYS[1])`

type BeatRedis = (Redis | Cluster) & { lucidBeat(key: string, id: string, ttlMs: number): Promise<number> }

export interface InstanceTracker {
  count(): number
  /** One heartbeat now (also learns the count). */
  beat(): Promise<void>
  start(): void
  stop(): Promise<void>
}

export function createInstanceTracker(o: {
  redis: Redis | Cluster
  key: string
  /** Only beats while this is true: while Redis hangs, beats would queue up behind each other. */
  canBeat(): boolean
  onChange?(count: number): void
}): InstanceTracker {
  const redis = o.redis as BeatRedis
  redis.defineCommand('lucidBeat', { numberOfKeys: 1, lua: BEAT_LUA })
  const id = randomUUID()
  let live = 1
  let beating = false
  let timer: NodeJS.Timeout | undefined

  async function beat(): Promise<void> {
    if (beating || !o.canBeat()) return
    beating = true
    try {
      const n = Number(await redis.lucidBeat(o.key, id, INSTANCE_TTL_MS))
      if (n >= 1 && n !== live) {
        live = n
        o.onChange?.(n)
      }
    } catch {
      // Keep the last known count while Redis is away.
    } finally {
      beating = false
    }
  }

  return {
    count: () => live,
    beat,
    start() {
      timer = setInterval(() => void beat(), HEARTBEAT_MS)
      timer.unref()
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer)
      await Promise.race([redis.zrem(o.key, id), new Promise((r) => setTimeout(r, 500).unref())]).catch(() => undefined)
    }
  }
}
