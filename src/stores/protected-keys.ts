/**
 * State-store namespaces that carry security state: nonces, sign-in codes, refresh grace, limiter
 * state and penalties, idempotency records. The admin API reads them but never writes, deletes or
 * flushes them, and a restore never brings them back (a restored nonce could be replayed).
 */
const PROTECTED = ['challenge', 'magic', 'email-code', 'email-attempts', 'mail-rate', 'refresh-grace', 'rl', 'rl-penalty', 'rl-violations', 'rl-instances', 'idem', 'identity-invalidate']

export function isProtectedKey(key: string): boolean {
  return PROTECTED.some((ns) => key === ns || key.startsWith(`${ns}:`))
}
