/**
 * API keys (`X-API-Key`): only their SHA-256 is stored, so a database leak yields no usable key.
 * A key is 32 random bytes, so a fast hash is enough (no password stretching needed); the lookup is
 * by hash, never a comparison of secrets.
 */
import { createHash, randomBytes } from 'node:crypto'

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')

/** A new key as shown to its owner once: `lucid_` + 32 random bytes, base64url. */
export const newApiKey = (): string => `lucid_${randomBytes(32).toString('base64url')}`
