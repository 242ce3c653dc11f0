/**
 * Anchoring manifests on lucid_blocks (issue 6; CONTRACT.md section 6). A pending anchor is
 * never lost: if lucid_blocks is down the submission is retried by the anchor job, and the
 * Idempotency-Key derived from the manifest id keeps a retry from anchoring twice.
 */
import type { Context } from '@opentelemetry/api'
import type { ManifestRow, SessionsRepository } from '../data/repositories/sessions.js'
import type { JobDefinition } from '../jobs/job-runner.js'
import { UpstreamError, type UpstreamClient } from '../proxy/upstream-client.js'

export interface AnchorServiceDeps {
  sessions: SessionsRepository
  /** The lucid_blocks upstream client, looked up per call (undefined when not configured). */
  chainClient: () => UpstreamClient | undefined
  log: { warn(obj: object, msg: string): void }
}

export async function json(body: AsyncIterable<unknown>): Promise<unknown> {
  let text = ''
  for await (const part of body) text += (part as Buffer).toString('utf8')
  return JSON.parse(text)
}

export function createAnchorService({ sessions: repo, chainClient, log }: AnchorServiceDeps) {
  const chain = () => {
    const c = chainClient()
    if (c === undefined) throw new Error('no lucid_blocks upstream configured')
    return c
  }
  const reload = async (id: string) => (await repo.manifestById(id)) as ManifestRow

  async function submit(m: ManifestRow, parent?: Context): Promise<ManifestRow> {
    const body = JSON.stringify({
      type: 'session_anchor',
      data: {
        session_id: m.session_id,
        manifest_id: m.manifest_id,
        merkle_root: m.merkle_root,
        chunk_count: m.chunk_count,
        total_size: m.total_size
      }
    })
    try {
      const res = await chain().request({
        method: 'POST',
        path: '/api/v1/chain/transactions',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'idempotency-key': `anchor-${m.manifest_id}`
        },
        body: Buffer.from(body),
        retryable: true,
        parent
      })
      const answer = (await json(res.body).catch(() => ({}))) as { transaction_id?: string }
      if (res.statusCode >= 200 && res.statusCode < 300 && typeof answer.transaction_id === 'string') {
        await repo.updateAnchor(m.manifest_id, { anchor_txid: answer.transaction_id, anchor_error: null })
      } else {
        await repo.updateAnchor(m.manifest_id, { anchor_error: `lucid_blocks answered ${res.statusCode}` })
      }
    } catch (err) {
      const reason = err instanceof UpstreamError ? `lucid_blocks ${err.kind}` : 'lucid_blocks unreachable'
      log.warn({ manifest_id: m.manifest_id, reason }, 'anchor submission failed; will retry')
      await repo.updateAnchor(m.manifest_id, { anchor_error: reason })
    }
    return reload(m.manifest_id)
  }

  async function refresh(m: ManifestRow, parent?: Context): Promise<ManifestRow> {
    if (m.anchor_status !== 'pending') return m
    if (m.anchor_txid === null) return submit(m, parent)
    try {
      const res = await chain().request({
        method: 'GET',
        path: `/api/v1/chain/transactions/${encodeURIComponent(m.anchor_txid)}`,
        headers: {},
        retryable: true,
        parent
      })
      const tx = (await json(res.body).catch(() => ({}))) as {
        status?: string
        block_height?: number
        confirmed_at?: string
      }
      if (res.statusCode === 200 && tx.status === 'confirmed') {
        await repo.updateAnchor(m.manifest_id, {
          anchor_status: 'confirmed',
          anchor_block_height: tx.block_height ?? null,
          anchor_confirmed_at: tx.confirmed_at ? new Date(tx.confirmed_at) : new Date(),
          anchor_error: null
        })
      } else if (res.statusCode === 200 && tx.status === 'failed') {
        await repo.updateAnchor(m.manifest_id, {
          anchor_status: 'failed',
          anchor_error: 'transaction failed on lucid_blocks'
        })
      }
    } catch (err) {
      log.warn({ manifest_id: m.manifest_id, err: (err as Error).message }, 'anchor status check failed; will retry')
    }
    return reload(m.manifest_id)
  }

  async function anchor(m: ManifestRow, parent?: Context): Promise<ManifestRow> {
    if (m.anchor_status === 'confirmed') return m
    if (m.anchor_status === 'pending' && m.anchor_txid !== null) return refresh(m, parent)
    await repo.updateAnchor(m.manifest_id, {
      anchor_status: 'pending',
      anchor_requested_at: new Date(),
      anchor_error: null,
      anchor_txid: null
    })
    return submit(await reload(m.manifest_id), parent)
  }

  return { anchor, refresh }
}

export type AnchorService = ReturnType<typeof createAnchorService>

/** The background job: every pending anchor is submitted or checked until it settles. */
export function anchorJob(service: AnchorService, sessions: SessionsRepository, everyMs: number): JobDefinition {
  return {
    name: 'anchor-poll',
    everyMs,
    leaseMs: 60_000,
    run: async (signal, parent) => {
      for (const m of await sessions.pendingAnchors(50)) {
        if (signal.aborted) return
        await service.refresh(m, parent)
      }
    }
  }
}
