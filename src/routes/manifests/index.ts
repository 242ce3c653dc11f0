/**
 * Manifests, Merkle proofs, verification against the bytes on disk, and anchoring of the root on
 * lucid_blocks through the proxy's upstream client (breaker, timeouts, retries). The anchor
 * request carries an Idempotency-Key derived from the manifest, so a retry never anchors twice;
 * when lucid_blocks is down the anchor stays pending and the anchor job retries it.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { merkleProof, merkleRoot } from '../../merkle/merkle.js'
import type { ManifestRow } from '../../data/repositories/sessions.js'
import {
  AnchorQuerystring,
  CreateManifestBody,
  ManifestParams,
  ManifestRef,
  ProofParams,
  ProofSchema,
  VerificationSchema
} from './schema.js'

export default async function manifestRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'manifests')
  const repo = app.repos.sessions
  const anchors = app.services.anchors

  /** The manifest if the caller owns its session or is an admin; 404 otherwise. */
  async function visibleManifest(request: FastifyRequest, id: string): Promise<ManifestRow> {
    const m = await repo.manifestById(id)
    if (m === null) throw new LucidError('NOT_FOUND', 'Manifest not found')
    await app.visibleSession(request, m.session_id).catch(() => {
      throw new LucidError('NOT_FOUND', 'Manifest not found')
    })
    return m
  }
  const withChunks = async (m: ManifestRow) => ({ m, rows: (await repo.chunks(m.session_id)).rows })

  app.post(
    '/',
    authed({
      errors: [403, 404, 409],
      summary: 'Complete a session and build its manifest',
      body: CreateManifestBody,
      response: withErrors({ 201: ManifestRef })
    }),
    async (request, reply) => {
      const s = await app.visibleSession(request, request.body.session_id, 'write')
      const id = await app.services.sessions.complete(s.session_id)
      return reply.code(201).send(await app.manifestBody((await repo.manifestById(id)) as ManifestRow))
    }
  )

  app.get(
    '/:manifest_id',
    authed({ summary: 'A manifest', params: ManifestParams, response: withErrors({ 200: ManifestRef }) }),
    async (request) => app.manifestBody(await visibleManifest(request, request.params.manifest_id))
  )

  app.get(
    '/:manifest_id/chunks/:index/proof',
    authed({
      summary: 'RFC 6962 inclusion proof of one chunk',
      params: ProofParams,
      response: withErrors({ 200: ProofSchema })
    }),
    async (request) => {
      const { m, rows } = await withChunks(await visibleManifest(request, request.params.manifest_id))
      const index = request.params.index
      if (index >= rows.length) throw new LucidError('NOT_FOUND', 'Chunk not in this manifest')
      const proof = merkleProof(
        rows.map((c) => Buffer.from(c.sha256, 'hex')),
        index
      )
      return {
        manifest_id: m.manifest_id,
        chunk_index: index,
        chunk_hash: rows[index].sha256,
        merkle_root: m.merkle_root,
        ...proof
      }
    }
  )

  app.get(
    '/:manifest_id/verify',
    authed({
      summary: 'Re-read every chunk from disk and check its hash and the Merkle root',
      params: ManifestParams,
      response: withErrors({ 200: VerificationSchema })
    }),
    async (request) => {
      const { m, rows } = await withChunks(await visibleManifest(request, request.params.manifest_id))
      const corrupted: number[] = []
      const missing: number[] = []
      const digests: Buffer[] = []
      for (const c of rows) {
        const h = createHash('sha256')
        try {
          for await (const part of app.services.chunkStore.read(m.session_id, c.chunk_index)) h.update(part as Buffer)
        } catch {
          missing.push(c.chunk_index)
          digests.push(Buffer.alloc(32))
          continue
        }
        const d = h.digest()
        if (d.toString('hex') !== c.sha256) corrupted.push(c.chunk_index)
        digests.push(d)
      }
      const computed = merkleRoot(digests).toString('hex')
      return {
        valid: corrupted.length === 0 && missing.length === 0 && computed === m.merkle_root,
        manifest_id: m.manifest_id,
        merkle_root: m.merkle_root,
        computed_root: computed,
        chunk_count: rows.length,
        corrupted_chunks: corrupted,
        missing_chunks: missing
      }
    }
  )

  app.post(
    '/:manifest_id/anchor',
    authed({
      summary: 'Anchor the Merkle root on lucid_blocks (stays pending and is retried if lucid_blocks is down)',
      params: ManifestParams,
      response: withErrors({ 202: ManifestRef, 200: ManifestRef })
    }),
    async (request, reply) => {
      const m = await visibleManifest(request, request.params.manifest_id)
      const updated = await anchors.anchor(m, request.trace?.context)
      await app.audit(request, {
        action: 'manifest.anchor_requested',
        target_type: 'manifest',
        target_id: m.manifest_id,
        details: { status: updated.anchor_status }
      })
      return reply.code(updated.anchor_status === 'confirmed' ? 200 : 202).send(await app.manifestBody(updated))
    }
  )

  app.get(
    '/:manifest_id/anchor',
    authed({
      summary: 'Anchor status; refresh=true asks lucid_blocks now',
      params: ManifestParams,
      querystring: AnchorQuerystring,
      response: withErrors({ 200: ManifestRef })
    }),
    async (request) => {
      let m = await visibleManifest(request, request.params.manifest_id)
      if (request.query.refresh === true && m.anchor_status === 'pending')
        m = await anchors.refresh(m, request.trace?.context)
      return app.manifestBody(m)
    }
  )
}
