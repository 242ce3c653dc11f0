/**
 * State-store namespaces that carry security state: challenge nonces, sign-in codes and links,
 * their send and guess budgets, refresh grace, limiter state and penalties, idempotency records
 * and quotas, the revocation fan-out. No API reveals their values (issue 12 finding 1: an admin
 * cracked an emailed code read through the cache API); the cache API lists them with namespace,
 * TTL and size only, and never writes, deletes or flushes them; a backup never includes them and
 * a restore never brings them back (a restored nonce could be replayed).
 */
export const SECURITY_NAMESPACES = [
  'challenge',
  'magic',
  'email-code',
  'email-attempts',
  'mail-rate',
  'refresh-grace',
  'rl',
  'rl-epoch',
  'rl-penalty',
  'rl-violations',
  'rl-instances',
  'idem',
  'idem-quota',
  'identity-invalidate'
] as const

export function isProtectedKey(key: string): boolean {
  return SECURITY_NAMESPACES.some((ns) => key === ns || key.startsWith(`${ns}:`))
}

/** The namespace of a key as the cache API shows it: up to the first ':' or '{'. */
export const namespaceOf = (key: string): string => key.split(/[:{]/, 1)[0]
