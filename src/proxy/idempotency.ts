/**
 * Idempotency-Key for POSTs through the proxy (issue 5), shared across instances through the
 * state store: the first request claims the key (SET NX) while in flight; its response (status,
 * headers, body up to a size limit) is stored for 24 h; a repeat with the same body fingerprint
 * replays it; a different body is 422; a repeat while the first is in flight is 409.
 */
import { createHash } from 'node:crypto'
import type { StateStore } from '../stores/state-store.js'

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000
const IN_FLIGHT_TTL_MS = 5 * 60_000
export const MAX_STORED_RESPONSE_BYTES = 1024 * 1024

export interface StoredResponse {
  status: number
  headers: Record<string, string | string[]>
  body_b64: string
}

type Record_ =
  { state: 'in_flight'; fingerprint: string } | { state: 'done'; fingerprint: string; response: StoredResponse }

export type ClaimResult =
  { kind: 'claimed' } | { kind: 'replay'; response: StoredResponse } | { kind: 'in_flight' } | { kind: 'mismatch' }

export function fingerprint(method: string, path: string, body: Buffer): string {
  return createHash('sha256').update(method).update('\n').update(path).update('\n').update(body).digest('hex')
}

export function createIdempotencyStore(store: StateStore) {
  const keyOf = (scope: string, key: string) => `idem:${scope}:${createHash('sha256').update(key).digest('hex')}`
  return {
    async claim(scope: string, key: string, fp: string): Promise<ClaimResult> {
      const k = keyOf(scope, key)
      if (
        await store.set(k, JSON.stringify({ state: 'in_flight', fingerprint: fp } satisfies Record_), {
          ttlMs: IN_FLIGHT_TTL_MS,
          nx: true
        })
      )
        return { kind: 'claimed' }
      const raw = await store.get(k)
      if (raw === null) return this.claim(scope, key, fp)
      const rec = JSON.parse(raw) as Record_
      if (rec.fingerprint !== fp) return { kind: 'mismatch' }
      return rec.state === 'done' ? { kind: 'replay', response: rec.response } : { kind: 'in_flight' }
    },
    async complete(scope: string, key: string, fp: string, response: StoredResponse): Promise<void> {
      await store.set(
        keyOf(scope, key),
        JSON.stringify({ state: 'done', fingerprint: fp, response } satisfies Record_),
        { ttlMs: IDEMPOTENCY_TTL_MS }
      )
    },
    /** The request never reached a usable answer: free the key so the client may retry. */
    async release(scope: string, key: string): Promise<void> {
      await store.del(keyOf(scope, key))
    }
  }
}
