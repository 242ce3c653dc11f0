/**
 * How far the gateway's copy of lucid_blocks is behind, and what waits to be anchored
 * (issue 18 dashboard). The remote tip is asked through the upstream client, so an open breaker
 * answers at once instead of the dashboard waiting on a dead chain. No Fastify import.
 */
import type { Context } from '@opentelemetry/api'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import type { OperationsRepository } from '../data/repositories/operations.js'

export interface ChainStatus {
  local_height: number | null
  remote_height: number | null
  /** remote − local, in blocks; null when either side is unknown. */
  lag_blocks: number | null
  remote_error: string | null
  last_synced_at: string | null
  sync_interval_ms: number
  anchors: { pending: number; unsubmitted: number; oldest_requested_at: string | null; last_error: string | null }
}

export interface ChainStatusDeps {
  localHeight(): Promise<number | null>
  operations: OperationsRepository
  client(): UpstreamClient | undefined
  syncIntervalMs: number
  /** Deadline for asking lucid_blocks its tip, ms (default 2 000). */
  timeoutMs?: number
}

async function readText(body: AsyncIterable<unknown>, maxBytes: number): Promise<string> {
  let text = ''
  for await (const part of body) {
    text += (part as Buffer).toString('utf8')
    if (text.length > maxBytes) throw new Error('answer too large')
  }
  return text
}

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())

export function createChainStatus(deps: ChainStatusDeps) {
  const timeoutMs = deps.timeoutMs ?? 2_000

  async function remoteHeight(parent: Context | undefined): Promise<{ height: number | null; error: string | null }> {
    const c = deps.client()
    if (c === undefined) return { height: null, error: 'no lucid_blocks upstream configured' }
    try {
      const res = await c.request({
        method: 'GET',
        path: '/api/v1/chain/info',
        headers: { accept: 'application/json' },
        retryable: false,
        timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        parent
      })
      const text = await readText(res.body, 64 * 1024)
      if (res.statusCode !== 200) return { height: null, error: `lucid_blocks answered ${res.statusCode}` }
      const height = (JSON.parse(text) as { height?: unknown }).height
      if (!Number.isSafeInteger(height)) return { height: null, error: 'no height in /chain/info' }
      return { height: height as number, error: null }
    } catch (err) {
      return { height: null, error: (err as { kind?: string }).kind ?? (err as Error).message }
    }
  }

  return {
    /** `parent`: the asking request's trace context. */
    async status(parent?: Context): Promise<ChainStatus> {
      const [local, remote, synced, anchors] = await Promise.all([
        deps.localHeight(),
        remoteHeight(parent),
        deps.operations.lastBlockSyncedAt(),
        deps.operations.anchorBacklog()
      ])
      return {
        local_height: local,
        remote_height: remote.height,
        lag_blocks: remote.height === null ? null : remote.height - (local ?? -1),
        remote_error: remote.error,
        last_synced_at: iso(synced),
        sync_interval_ms: deps.syncIntervalMs,
        anchors: { ...anchors, oldest_requested_at: iso(anchors.oldest_requested_at) }
      }
    }
  }
}

export type ChainStatusService = ReturnType<typeof createChainStatus>
