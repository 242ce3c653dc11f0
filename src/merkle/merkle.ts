/**
 * RFC 6962 (Certificate Transparency) Merkle trees over chunk hashes (CONTRACT.md section 7), so
 * any client can verify with a standard algorithm: leaf = SHA-256(0x00 ‖ chunk_sha256),
 * node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below n.
 * Framework-free and dependency-light: clients can reuse `verifyProof` as it is.
 */
import { createHash } from 'node:crypto'

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

export const leafHash = (chunkSha256: Uint8Array): Buffer => sha256(LEAF, chunkSha256)
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => sha256(NODE, left, right)

/** Largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** Merkle Tree Hash of the leaves (raw 32-byte chunk digests, in index order). */
export function merkleRoot(chunkHashes: Uint8Array[]): Buffer {
  if (chunkHashes.length === 0) return sha256()
  const level = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return leafHash(chunkHashes[lo])
    const k = split(hi - lo)
    return nodeHash(level(lo, lo + k), level(lo + k, hi))
  }
  return level(0, chunkHashes.length)
}

export interface MerkleProof {
  /** Sibling hashes from the leaf upward (hex). */
  proof_hashes: string[]
  /** "left" means the proof hash is the left operand at that step. */
  proof_directions: ('left' | 'right')[]
}

/** RFC 6962 audit path for leaf `index`, with the side of each sibling. */
export function merkleProof(chunkHashes: Uint8Array[], index: number): MerkleProof {
  if (index < 0 || index >= chunkHashes.length) throw new RangeError('index outside the tree')
  const hashes: string[] = []
  const dirs: ('left' | 'right')[] = []
  const walk = (lo: number, hi: number): void => {
    if (hi - lo === 1) return
    const k = split(hi - lo)
    if (index < lo + k) {
      walk(lo, lo + k)
      hashes.push(merkleRoot(chunkHashes.slice(lo + k, hi)).toString('hex'))
      dirs.push('right')
    } else {
      walk(lo + k, hi)
      hashes.push(merkleRoot(chunkHashes.slice(lo, lo + k)).toString('hex'))
      dirs.push('left')
    }
  }
  walk(0, chunkHashes.length)
  return { proof_hashes: hashes, proof_directions: dirs }
}

/** Recomputes the root from a chunk hash and its proof; true when it matches `rootHex`. */
export function verifyProof(chunkHashHex: string, proof: MerkleProof, rootHex: string): boolean {
  if (proof.proof_hashes.length !== proof.proof_directions.length) return false
  let acc = leafHash(Buffer.from(chunkHashHex, 'hex'))
  proof.proof_hashes.forEach((h, i) => {
    const sibling = Buffer.from(h, 'hex')
    acc = proof.proof_directions[i] === 'left' ? nodeHash(sibling, acc) : nodeHash(acc, sibling)
  })
  return acc.toString('hex') === rootHex.toLowerCase()
}
