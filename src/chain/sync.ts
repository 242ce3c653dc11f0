/**
 * Chain sync (issue 7): copies lucid_blocks' blocks and transactions into the local database,
 * page by page through the upstream client (breaker, timeouts, retries). Idempotent by height and
 * hash; resumes from the local tip; when the tip's hash no longer matches the chain (a
 * reorganisation) it walks back to the last common block, drops what follows and re-syncs.
 */
import type { Context } from '@opentelemetry/api'
import type { Db } from '../data/db.js'
import type { ChainRepository, RemoteBlock } from '../data/repositories/chain.js'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import { json } from '../services/anchor.js'

export interface SyncResult {
  height: number | null
  inserted: number
  replaced: number
  reorganised_from: number | null
}

const HEX = /^[0-9a-fA-F]{1,128}$/
const MAX_WALK_BACK = 10_000

function validBlock(b: unknown): b is RemoteBlock {
  const x = b as RemoteBlock
  return (
    typeof x === 'object' &&
    x !== null &&
    Number.isSafeInteger(x.height) &&
    x.height >= 0 &&
    typeof x.hash === 'string' &&
    HEX.test(x.hash) &&
    typeof x.previous_hash === 'string' &&
    HEX.test(x.previous_hash) &&
    typeof x.merkle_root === 'string' &&
    x.merkle_root.length <= 128 &&
    typeof x.timestamp === 'string' &&
    !Number.isNaN(Date.parse(x.timestamp)) &&
    (x.transactions === undefined ||
      (Array.isArray(x.transactions) &&
        x.transactions.every(
          (t) =>
            typeof t?.transaction_id === 'string' &&
            t.transaction_id.length <= 200 &&
            typeof t.type === 'string' &&
            t.type.length <= 100
        )))
  )
}

export function createChainSync(opts: {
  db: Db
  repo: ChainRepository
  client: () => UpstreamClient | undefined
  pageSize?: number
  log: { info(o: object, m: string): void; warn(o: object, m: string): void }
}) {
  const pageSize = opts.pageSize ?? 100

  async function get(path: string, parent: Context | undefined): Promise<{ status: number; body: unknown }> {
    const c = opts.client()
    if (c === undefined) throw new Error('no lucid_blocks upstream configured')
    const res = await c.request({
      method: 'GET',
      path,
      headers: { accept: 'application/json' },
      retryable: true,
      parent
    })
    const body = await json(res.body).catch(() => undefined)
    return { status: res.statusCode, body }
  }

  async function remoteBlock(height: number, parent: Context | undefined): Promise<RemoteBlock | null> {
    const r = await get(`/api/v1/chain/blocks/${height}`, parent)
    if (r.status === 404) return null
    if (r.status !== 200 || !validBlock(r.body))
      throw new Error(`lucid_blocks: bad answer for block ${height} (${r.status})`)
    return r.body
  }

  return {
    /** `parent`: the job run's trace context, for the lucid_blocks calls (TRACING_CONTEXT=explicit). */
    async run(signal?: AbortSignal, parent?: Context): Promise<SyncResult> {
      const result: SyncResult = { height: null, inserted: 0, replaced: 0, reorganised_from: null }
      let tip = await opts.repo.chainHeight()
      if (tip !== null) {
        // Walk back from the tip to the last block both sides agree on.
        let h = tip
        for (let steps = 0; h >= 0 && steps < MAX_WALK_BACK; steps++, h--) {
          const [local, remote] = await Promise.all([opts.repo.byHeight(h), remoteBlock(h, parent)])
          if (local !== null && remote !== null && local.hash === remote.hash) break
        }
        if (h < tip) {
          await opts.repo.truncateAbove(h)
          result.reorganised_from = h + 1
          opts.log.warn(
            { from_height: h + 1, old_tip: tip },
            'lucid_blocks reorganised: dropped local blocks above the common ancestor'
          )
          tip = h < 0 ? null : h
        }
      }
      let from = tip === null ? 0 : tip + 1
      for (;;) {
        if (signal?.aborted === true) break
        const r = await get(`/api/v1/chain/blocks?from_height=${from}&limit=${pageSize}`, parent)
        const blocks = (r.body as { blocks?: unknown[] } | undefined)?.blocks
        if (r.status !== 200 || !Array.isArray(blocks))
          throw new Error(`lucid_blocks: bad answer for blocks from ${from} (${r.status})`)
        const page = blocks
          .filter(validBlock)
          .filter((b) => b.height >= from)
          .sort((a, b) => a.height - b.height)
        if (page.length !== blocks.filter((b) => (b as RemoteBlock).height >= from).length)
          throw new Error('lucid_blocks: malformed block in page')
        if (page.length === 0) break
        let broken = false
        await opts.db.transaction(async (tx) => {
          for (const b of page) {
            const prev = b.height === 0 ? null : await opts.repo.byHeight(b.height - 1, tx)
            if (b.height > 0 && (prev === null || prev.hash !== b.previous_hash)) {
              // The chain changed under us mid-sync: the next run walks back and repairs.
              broken = true
              return
            }
            const outcome = await opts.repo.upsert(b, tx)
            if (outcome === 'inserted') result.inserted++
            if (outcome === 'replaced') result.replaced++
          }
        })
        if (broken) break
        from = page[page.length - 1].height + 1
        if (page.length < pageSize) break
      }
      result.height = await opts.repo.chainHeight()
      if (result.inserted > 0 || result.reorganised_from !== null) opts.log.info({ ...result }, 'chain synced')
      return result
    }
  }
}

export type ChainSync = ReturnType<typeof createChainSync>
