/**
 * Shared short-lived state (rate limits, nonces, revocation fan-out, idempotency records).
 * Redis when REDIS_URL is set, an in-process store otherwise (correct for one instance).
 * Both implementations pass the same contract suite (test/stores/state-store.test.ts).
 * Keys are given without the namespace prefix; each implementation adds its own.
 */
import type { Cluster, Redis } from 'ioredis'

export interface SetOptions {
  /** Expiry in milliseconds; omitted means the key never expires. */
  ttlMs?: number
  /** Only set when the key does not exist (SET NX). */
  nx?: boolean
}

export type Unsubscribe = () => Promise<void>

/** Admin view of the store (cache API). Redis figures are server-wide. */
export interface StoreStats {
  kind: 'memory' | 'redis'
  version: string | null
  keys: number
  memory_bytes: number | null
  peak_memory_bytes: number | null
  max_memory_bytes: number | null
  clients: number | null
  hits: number | null
  misses: number | null
  hit_rate: number | null
  evicted_keys: number | null
  uptime_s: number | null
}

export interface KeyInfo {
  key: string
  type: string
  /** Remaining time to live, ms; null without expiry. */
  ttl_ms: number | null
  /** The value of a string key (others: null). */
  value: string | null
  size_bytes: number | null
}

/** Glob (Redis MATCH syntax: *, ?, [abc], \\x) to an anchored RegExp, for the in-process store. */
export function redisGlobToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '\\' && i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    else if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) re += '\\['
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/\\/g, '\\\\')
          .replace(/^!/, '^')}]`
        i = end
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}

/** The Redis connection behind a Redis store, for what needs its own scripts (the rate limiter). */
export interface RedisBacking {
  client: Redis | Cluster
  /** The store's key namespace (STATE_KEY_PREFIX). */
  prefix: string
}

export interface StateStore {
  readonly kind: 'memory' | 'redis'
  /** Set by the Redis store only. */
  readonly redis?: RedisBacking
  get(key: string): Promise<string | null>
  /** Returns false only when `nx` was asked and the key already existed. */
  set(key: string, value: string, opts?: SetOptions): Promise<boolean>
  del(key: string): Promise<boolean>
  /** Single-use read: returns the value and deletes it atomically, or null (GETDEL). */
  take(key: string): Promise<string | null>
  /** Atomic increment; the expiry is set when the counter is created and not extended. */
  incr(key: string, by: number, ttlMs: number): Promise<number>
  /** Remaining time to live in ms, null when the key is missing or has no expiry. */
  ttl(key: string): Promise<number | null>
  publish(channel: string, message: string): Promise<void>
  /** Handler receives every message published on channel by any instance (self included). */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>
  /** Admin: server figures (memory, clients, hit rate). */
  stats(): Promise<StoreStats>
  /** Admin: keys (without the prefix) matching a glob, one SCAN page at a time (never KEYS). */
  scan(pattern: string, cursor: string, count: number): Promise<{ keys: string[]; cursor: string }>
  /**
   * Admin: type, TTL and (for strings) value of one key, or null when it does not exist.
   * `value: false` leaves the value out (null) and does not read it (listings, security keys).
   */
  describe(key: string, opts?: { value?: boolean }): Promise<KeyInfo | null>
  /** Round-trip latency in ms; throws when the store is unreachable. */
  ping(): Promise<number>
  close(): Promise<void>
}

export class StateStoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('state store unavailable', { cause })
    this.name = 'StateStoreUnavailableError'
  }
}
