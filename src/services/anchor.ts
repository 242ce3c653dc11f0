/**
 * Anchoring manifests on lucid_blocks (issue 6; CONTRACT.md section 6). A pending anchor is
 * never lost: if lucid_blocks is down the submission is retried by the anchor job, and the
 * Idempotency-Key derived from the manifest id keeps a retry from anchoring twice.
 */
import type { FastifyInstance } from 'fastify'
import type { ManifestRow } from '../data/repositories/sessions.js'
import { UpstreamError } from '../proxy/upstream-client.js'

export async function json(body: AsyncIterable<unknown>): Promise<unknown> {
  let text = ''
  for await (const part of body) text += (part as Buffer).toString('utf8')
  return JSON.parse(text)
}

export function createAnchorService({ app }: { app: FastifyInstance }) {
  const repo = app.sessionsRepo
  const chain = () => {
    const c = app.upstreams.get('lucid_blocks')
    if (c === undefined) throw new Error('no lucid_blocks upstream configured')
    return c
  }
  const reload = async (id: string) => (await repo.manifestById(id)) as ManifestRow

  async function submit(m: ManifestRow): Promise<ManifestRow> {
    const body = JSON.stringify({ type: 'session_anchor', data: { session_id: m.session_id, manifest_id: m.manifest_id, merkle_root: m.merkle_root, chunk_count: m.chunk_count, total_size: m.total_size } })
    try {
      const res = await chain().request({
        method: 'POST',
        path: '/api/v1/chain/transactions',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'idempotency-key': `anchor-${m.manifest_id}` },
        body: Buffer.from(body),
        retryable: true
      })
      const answer = (await json(res.body).catch(() => ({}))) as { transaction_id?: string }
      if (res.statusCode >= 200 && res.statusCode < 300 && typeof answer.transaction_id === 'string') {
        await repo.updateAnchor(m.manifest_id, { anchor_txid: answer.transaction_id, anchor_error: null })
      } else {
        await repo.updateAnchor(m.manifest_id, { anchor_error: `lucid_blocks answered ${res.statusCode}` })
      }
    } catch (err) {
      const reason = err instanceof UpstreamError ? `lucid_blocks ${err.kind}` : 'lucid_blocks unreachable'
      app.log.warn({ manifest_id: m.manifest_id, reason }, 'anchor submission failed; will retry')
      await repo.updateAnchor(m.manifest_id, { anchor_error: reason })
    }
    return reload(m.manifest_id)
  }

  async function refresh(m: ManifestRow): Promise<ManifestRow> {
    if (m.anchor_status !== 'pending') return m
    if (m.anchor_txid === null) return submit(m)
    try {
      const res = await chain().request({ method: 'GET', path: `/api/v1/chain/transactions/${encodeURIComponent(m.anchor_txid)}`, headers: {}, retryable: true })
      const tx = (await json(res.body).catch(() => ({}))) as { status?: string; block_height?: number; confirmed_at?: string }
      if (res.statusCode === 200 && tx.status === 'confirmed') {
        await repo.updateAnchor(m.manifest_id, { anchor_status: 'confirmed', anchor_block_height: tx.block_height ?? null, anchor_confirmed_at: tx.confirmed_at ? new Date(tx.confirmed_at) : new Date(), anchor_error: null })
      } else if (res.statusCode === 200 && tx.status === 'failed') {
        await repo.updateAnchor(m.manifest_id, { anchor_status: 'failed', anchor_error: 'transaction failed on lucid_blocks' })
      }
    } catch (err) {
      app.log.warn({ manifest_id: m.manifest_id, err: (err as Error).message }, 'anchor status check failed; will retry')
    }
    return reload(m.manifest_id)
  }

  async function anchor(m: ManifestRow): Promise<ManifestRow> {
    if (m.anchor_status === 'confirmed') return m
    if (m.anchor_status === 'pending' && m.anchor_txid !== null) return refresh(m)
    await repo.updateAnchor(m.manifest_id, { anchor_status: 'pending', anchor_requested_at: new Date(), anchor_error: null, anchor_txid: null })
    return submit(await reload(m.manifest_id))
  }

  return { anchor, refresh }
}

/** The background job: every pending anchor is submitted or checked until it settles. */
export function defineAnchorJob(app: FastifyInstance): void {
  const service = createAnchorService({ app })
  app.jobs.define({
    name: 'anchor-poll',
    everyMs: app.config.anchorPollIntervalMs,
    leaseMs: 60_000,
    run: async (signal) => {
      for (const m of await app.sessionsRepo.pendingAnchors(50)) {
        if (signal.aborted) return
        await service.refresh(m)
      }
    }
  })
}
