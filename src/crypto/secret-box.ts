/**
 * Encryption of secrets at rest with DATA_ENCRYPTION_KEY (CONTRACT.md section 4): AES-256-GCM
 * under a subkey derived with HKDF-SHA256 and a purpose label, so one master key never encrypts
 * two kinds of data with the same key. Never keyed from the JWT secret.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'

export function deriveKey(master: Buffer, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `lucid-api-gateway:${purpose}`, length))
}

export interface SecretBox {
  seal(plaintext: Buffer | string, aad?: string): string
  open(sealed: string, aad?: string): Buffer
}

/** `aad` binds a ciphertext to its owner (e.g. the user id), so it cannot be moved to another row. */
export function createSecretBox(master: Buffer, purpose: string): SecretBox {
  const key = deriveKey(master, purpose)
  return {
    seal(plaintext, aad = '') {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(aad))
      const ct = Buffer.concat([
        cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext),
        cipher.final()
      ])
      return [
        VERSION,
        iv.toString('base64url'),
        ct.toString('base64url'),
        cipher.getAuthTag().toString('base64url')
      ].join('.')
    },
    open(sealed, aad = '') {
      const [version, iv, ct, tag] = sealed.split('.')
      if (version !== VERSION || !iv || ct === undefined || !tag) throw new Error('sealed value is malformed')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(aad))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()])
    }
  }
}
