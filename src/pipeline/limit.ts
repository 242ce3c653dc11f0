/**
 * Stage 4, limit (issue 4): the rate limits, applied before the route's own guard so floods are
 * limited even when they fail authentication. The identity is resolved here once (and reused by
 * the guard, which answers 401 for invalid credentials); a caller with invalid credentials is
 * limited as the public client it is. Framework-free: the rules and buckets live in
 * src/ratelimit and the rate-limit plugin's `decide`.
 */
import type { LucidError } from '../errors.js'
import { pathOf } from '../http/path.js'

export interface LimitRequest<U> {
  ip: string
  method: string
  /** The normalised URL (`rewriteUrl`, src/http/path.ts): the one the router matched. */
  url: string
  /** The credentials' owner; rejects when they are invalid. */
  resolveIdentity(): Promise<U | null>
}

export interface LimitVerdict {
  headers: Record<string, string>
  error?: LucidError
}

export type Decide<U> = (input: { ip: string; user: U | null; method: string; path: string }) => Promise<LimitVerdict>

export async function limitRequest<U>(req: LimitRequest<U>, decide: Decide<U>): Promise<LimitVerdict> {
  let user: U | null = null
  try {
    user = await req.resolveIdentity()
  } catch {
    // Invalid credentials: limited as the public client; the route's guard answers 401.
  }
  return decide({ ip: req.ip, user, method: req.method, path: pathOf(req.url) })
}
