/**
 * Asymmetric keys the gateway publishes at /.well-known/jwks.json:
 *  - the identity key that signs X-Lucid-Identity for upstreams (Ed25519), from
 *    IDENTITY_SIGNING_KEY or derived from DATA_ENCRYPTION_KEY through HKDF (CONTRACT.md section 2);
 *  - with JWT_ALGORITHM=EdDSA, the access/refresh token key and any previous public keys.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { deriveKey } from './secret-box.js'

export interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
}

export interface PublicJwk {
  kty: string
  crv: string
  x: string
  kid: string
  alg: 'EdDSA'
  use: 'sig'
}

// PKCS#8 DER header for a raw 32-byte Ed25519 seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** RFC 7638 thumbprint of an OKP public key, used as `kid`. */
export function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { crv: string; kty: string; x: string }
  return createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
    .digest('base64url')
}

function fromPrivate(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('signing keys must be Ed25519')
  const publicKey = createPublicKey(privateKey)
  return { kid: thumbprint(publicKey), privateKey, publicKey }
}

export function ed25519FromSeed(seed: Buffer): SigningKey {
  return fromPrivate(
    createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  )
}

/** A PEM given inline or as a file path. */
export function readPem(value: string): string {
  return value.trimStart().startsWith('-----') ? value : readFileSync(value, 'utf8')
}

export function loadSigningKey(pemOrPath: string): SigningKey {
  return fromPrivate(createPrivateKey(readPem(pemOrPath)))
}

export function loadPublicKey(pemOrPath: string): { kid: string; publicKey: KeyObject } {
  const publicKey = createPublicKey(readPem(pemOrPath))
  return { kid: thumbprint(publicKey), publicKey }
}

export function identityKey(dataEncryptionKey: Buffer, explicit?: string): SigningKey {
  return explicit !== undefined
    ? loadSigningKey(explicit)
    : ed25519FromSeed(deriveKey(dataEncryptionKey, 'identity-signing-key'))
}

export function toJwk(kid: string, publicKey: KeyObject): PublicJwk {
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: 'EdDSA', use: 'sig' }
}
