/**
 * Shared short-lived state (rate limits, nonces, revocation fan-out, idempotency records).
 * Redis when REDIS_URL is set, an in-process store otherwise (correct for one instance).
 * Both implementations pass the same contract suite (test/stores/state-store.test.ts).
 * Keys are given without the namespace prefix; each implementation adds its own.
 */
export interface SetOptions {
  /** Expiry in milliseconds; omitted means the key never expires. */
  ttlMs?: number
  /** Only set when the key does not exist (SET NX). */
  nx?: boolean
}

export type Unsubscribe = () => Promise<void>

export interface StateStore {
  readonly kind: 'memory' | 'redis'
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
