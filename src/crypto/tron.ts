/**
 * TRON addresses and TIP-191 message signatures (CONTRACT.md section 4), on audited primitives:
 * @noble/curves secp256k1, @noble/hashes keccak/sha256 and @scure/base base58check.
 * No Fastify import: reusable by clients and unit-tested on its own.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { createBase58check } from '@scure/base'

const base58check = createBase58check(sha256)
const TRON_PREFIX = 0x41
const TIP191_PREFIX = '\x19TRON Signed Message:\n'
// TronWeb's legacy signMessage/signString: a fixed "32" length whatever the message length.
const LEGACY_PREFIX = '\x19TRON Signed Message:\n32'
const utf8 = new TextEncoder()

/** A valid mainnet-format TRON address: 34 base58 characters, version byte 0x41, good checksum. */
export function isTronAddress(address: string): boolean {
  if (typeof address !== 'string' || address.length !== 34 || address[0] !== 'T') return false
  try {
    const raw = base58check.decode(address)
    return raw.length === 21 && raw[0] === TRON_PREFIX
  } catch {
    return false
  }
}

/** Address of an uncompressed (65-byte) or compressed (33-byte) secp256k1 public key. */
export function addressFromPublicKey(publicKey: Uint8Array): string {
  const uncompressed = publicKey.length === 65 ? publicKey : secp256k1.Point.fromBytes(publicKey).toBytes(false)
  const hash = keccak_256(uncompressed.subarray(1))
  const raw = new Uint8Array(21)
  raw[0] = TRON_PREFIX
  raw.set(hash.subarray(12), 1)
  return base58check.encode(raw)
}

/** keccak256("\x19TRON Signed Message:\n" + byteLength(message) + message): TronWeb signMessageV2. */
export function tip191Digest(message: string): Uint8Array {
  const body = utf8.encode(message)
  return keccak_256(new Uint8Array([...utf8.encode(`${TIP191_PREFIX}${body.length}`), ...body]))
}

/**
 * TronWeb's legacy signMessage (signString) of the message's UTF-8 bytes given as hex: the digest
 * covers the same bytes, behind the fixed "32" header.
 */
export function legacyDigest(message: string): Uint8Array {
  return keccak_256(new Uint8Array([...utf8.encode(LEGACY_PREFIX), ...utf8.encode(message)]))
}

export class SignatureFormatError extends Error {}

/** Parses a 65-byte r‖s‖v signature in hex (0x optional; v as 27/28 or 0/1). */
export function parseSignature(hex: string): { compact: Uint8Array; recovery: number } {
  const clean = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (!/^[0-9a-fA-F]{130}$/.test(clean)) throw new SignatureFormatError('signature must be 65 bytes of hex (r, s, v)')
  const bytes = Uint8Array.from(Buffer.from(clean, 'hex'))
  let v = bytes[64]
  if (v >= 27) v -= 27
  if (v !== 0 && v !== 1) throw new SignatureFormatError('signature recovery byte v must be 27, 28, 0 or 1')
  return { compact: bytes.subarray(0, 64), recovery: v }
}

function recover(digest: Uint8Array, sig: { compact: Uint8Array; recovery: number }): string | null {
  try {
    const s = secp256k1.Signature.fromBytes(sig.compact, 'compact').addRecoveryBit(sig.recovery)
    return addressFromPublicKey(s.recoverPublicKey(digest).toBytes(false))
  } catch {
    return null
  }
}

/**
 * The address that signed `message`, trying the TIP-191 digest first and TronWeb's legacy
 * fixed-header digest second. Both bind the exact message text. Throws SignatureFormatError for a
 * malformed signature; returns null when nothing can be recovered.
 */
export function recoverSigner(message: string, signatureHex: string, expected?: string): string | null {
  const sig = parseSignature(signatureHex)
  const v2 = recover(tip191Digest(message), sig)
  if (expected === undefined || v2 === expected) return v2
  const legacy = recover(legacyDigest(message), sig)
  return legacy === expected ? legacy : v2
}

/** Test and tooling helper: sign like TronWeb signMessageV2 with a hex private key. */
export function signTip191(message: string, privateKeyHex: string): string {
  const sig = secp256k1.sign(tip191Digest(message), Buffer.from(privateKeyHex.replace(/^0x/, ''), 'hex'), {
    prehash: false,
    format: 'recovered'
  })
  // noble's "recovered" format puts the recovery byte first; TronWeb puts v (27/28) last.
  return `0x${Buffer.from(sig.subarray(1)).toString('hex')}${(sig[0] + 27).toString(16)}`
}
