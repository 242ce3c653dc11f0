/** Chain: lucid_blocks tip, the gateway's copy, sync lag and manifests waiting to be anchored. */
import { get } from '../api.js'
import { ago, h, num, section, stat, swap } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { ChainStatus } from './types.js'

export const chainView: ViewDef = {
  id: 'chain',
  title: 'Chain',
  refreshMs: 5_000,
  scope:
    'The local copy and the anchor backlog are in the shared database; ' +
    'the tip is asked of lucid_blocks by this instance.',
  mount(root) {
    const stats = h('div', { class: 'stats', id: 'chain-stats' })
    const notes = h('div', { id: 'chain-notes' })
    root.append(stats, section('Sync and anchoring', notes))
    return {
      async refresh() {
        const c = await get<ChainStatus>('/api/v1/meta/chain')
        swap(
          stats,
          stat(
            'lucid_blocks tip',
            c.remote_height === null ? 'unknown' : num(c.remote_height),
            c.remote_error ?? 'height of the newest block',
            'remote'
          ),
          stat(
            'Local copy',
            c.local_height === null ? 'empty' : num(c.local_height),
            `last block copied ${ago(c.last_synced_at)}`,
            'local'
          ),
          stat(
            'Sync lag',
            c.lag_blocks === null ? '—' : `${num(c.lag_blocks)} blocks`,
            c.sync_interval_ms > 0
              ? `synced every ${num(c.sync_interval_ms / 1000)} s`
              : 'sync is off (CHAIN_SYNC_INTERVAL_MS=0)',
            'lag'
          ),
          stat(
            'Manifests waiting',
            num(c.anchors.pending),
            `${num(c.anchors.unsubmitted)} not yet submitted`,
            'anchors'
          )
        )
        swap(
          notes,
          h(
            'p',
            {},
            c.anchors.pending === 0
              ? 'No manifest is waiting to be anchored.'
              : `The oldest anchor was requested ${ago(c.anchors.oldest_requested_at)}; ` +
                  'the anchor job retries until lucid_blocks confirms it.'
          ),
          c.anchors.last_error
            ? h('p', { class: 'status error' }, `Last submission error: ${c.anchors.last_error}`)
            : null
        )
      }
    }
  }
}
