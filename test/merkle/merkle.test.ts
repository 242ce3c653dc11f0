import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { merkleProof, merkleRoot, verifyProof, leafHash, nodeHash } from '../../src/merkle/merkle.js'

const digest = (s: string | Uint8Array) => createHash('sha256').update(s).digest()

test('RFC 6962 shape: 1, 2 and 3 leaves', () => {
  const [a, b, c] = ['a', 'b', 'c'].map(digest)
  assert.deepEqual(merkleRoot([a]), leafHash(a))
  assert.deepEqual(merkleRoot([a, b]), nodeHash(leafHash(a), leafHash(b)))
  assert.deepEqual(
    merkleRoot([a, b, c]),
    nodeHash(nodeHash(leafHash(a), leafHash(b)), leafHash(c)),
    'split at the largest power of two below n'
  )
  assert.deepEqual(merkleProof([a, b, c], 2), {
    proof_hashes: [nodeHash(leafHash(a), leafHash(b)).toString('hex')],
    proof_directions: ['left']
  })
})

test('property: for any chunk count 1..1000 and any index, the proof verifies', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.nat(), fc.integer(), (n, pick, seed) => {
      const leaves = Array.from({ length: n }, (_, i) => digest(`${seed}:${i}`))
      const root = merkleRoot(leaves).toString('hex')
      const index = pick % n
      return verifyProof(leaves[index].toString('hex'), merkleProof(leaves, index), root)
    }),
    { numRuns: 150 }
  )
})

test('property: any altered byte of a chunk, a proof hash or the root makes verification fail', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.constantFrom('chunk', 'proof', 'root'),
      (n, pick, bytePick, flip, where) => {
        const chunks = Array.from({ length: n }, (_, i) => Buffer.from(`chunk-${i}`))
        const leaves = chunks.map(digest)
        const index = pick % n
        const proof = merkleProof(leaves, index)
        let root = merkleRoot(leaves).toString('hex')
        let chunkHash = leaves[index].toString('hex')
        if (where === 'chunk' || (where === 'proof' && proof.proof_hashes.length === 0)) {
          const altered = Buffer.from(chunks[index])
          altered[bytePick % altered.length] ^= flip
          chunkHash = digest(altered).toString('hex')
        } else if (where === 'proof') {
          const i = bytePick % proof.proof_hashes.length
          const h = Buffer.from(proof.proof_hashes[i], 'hex')
          h[bytePick % 32] ^= flip
          proof.proof_hashes[i] = h.toString('hex')
        } else {
          const r = Buffer.from(root, 'hex')
          r[bytePick % 32] ^= flip
          root = r.toString('hex')
        }
        return !verifyProof(chunkHash, proof, root)
      }
    ),
    { numRuns: 300 }
  )
})
