/** Overview: traffic, latency and errors over the last minutes, and the dependencies' health. */
import { get } from '../api.js'
import { lineChart } from '../chart.js'
import { badge, h, num, section, stat, swap, table, toneOf } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { Health, Traffic } from './types.js'

const WINDOW_S = 600

export const overviewView: ViewDef = {
  id: 'overview',
  title: 'Overview',
  refreshMs: 5_000,
  scope: "Traffic is this instance's (kept in its memory for 15 minutes); health covers every dependency.",
  mount(root) {
    const stats = h('div', { class: 'stats', id: 'overview-stats' })
    const rps = lineChart(
      'Requests and 5xx errors per second',
      'req/s',
      [
        { label: 'requests/s', stroke: '#7fd1ff' },
        { label: '5xx/s', stroke: '#ff7b72' }
      ],
      WINDOW_S
    )
    const latency = lineChart(
      'Latency percentiles',
      'ms',
      [
        { label: 'p50', stroke: '#7ee787' },
        { label: 'p95', stroke: '#e3b341' },
        { label: 'p99', stroke: '#ff7b72' }
      ],
      WINDOW_S
    )
    const deps = h('div', { id: 'overview-deps' })
    const codes = h('div', { id: 'overview-codes' })
    const routes = h('div', { id: 'overview-routes' })
    const upstreams = h('div', { id: 'overview-upstreams' })
    root.append(
      stats,
      h('div', { class: 'charts' }, rps.el, latency.el),
      h('div', { class: 'grid-2' }, section('Dependencies', deps), section('Errors by envelope code', codes)),
      section('Busiest routes', routes),
      section('Upstream outcomes', upstreams)
    )
    return {
      async refresh() {
        const [t, health] = await Promise.all([
          get<Traffic>(`/api/v1/meta/traffic?window_s=${WINDOW_S}`),
          get<Health>('/api/v1/meta/health')
        ])
        const recent = t.points.slice(-6)
        const nowRps = recent.reduce((a, p) => a + p.requests_per_second, 0) / Math.max(1, recent.length)
        const limiter = health.dependencies.rate_limiter as { mode?: string; instances?: number } | undefined
        swap(
          stats,
          stat('Requests/s (last 30 s)', num(nowRps, 2), undefined, 'rps'),
          stat(
            `Requests (${WINDOW_S / 60} min)`,
            num(t.totals.requests),
            `${num(t.totals.requests_per_second, 2)}/s on average`,
            'requests'
          ),
          stat(
            'Latency p50 / p95 / p99',
            `${num(t.totals.p50_ms, 1)} / ${num(t.totals.p95_ms, 1)} / ${num(t.totals.p99_ms, 1)} ms`,
            undefined,
            'latency'
          ),
          stat('Errors', `${num(t.totals.server_errors)} 5xx`, `${num(t.totals.client_errors)} 4xx`, 'errors'),
          stat('Gateway instances', num(limiter?.instances ?? 1), 'seen by the limiter', 'instances'),
          stat(
            'Limiter mode',
            limiter?.mode ?? '—',
            health.storage.state === 'redis' ? 'shared in Redis' : 'in this process only',
            'limiter'
          ),
          stat('Health', health.status, `database ${health.storage.database}`, 'health')
        )
        rps.set(
          t.points.map((p) => p.t),
          [t.points.map((p) => p.requests_per_second), t.points.map((p) => p.errors_per_second)]
        )
        latency.set(
          t.points.map((p) => p.t),
          [t.points.map((p) => p.p50_ms), t.points.map((p) => p.p95_ms), t.points.map((p) => p.p99_ms)]
        )
        const depRows: [string, { status: string; latency_ms: number | null; error?: string }][] = [
          ['database', health.dependencies.database],
          ['state store', health.dependencies.state_store],
          ...(health.dependencies.rate_limiter
            ? [
                ['rate limiter', health.dependencies.rate_limiter] as [
                  string,
                  { status: string; latency_ms: number | null }
                ]
              ]
            : []),
          ...Object.entries(health.dependencies.upstreams).map(
            ([n, d]) => [`upstream ${n}`, d] as [string, { status: string; latency_ms: number | null; error?: string }]
          )
        ]
        swap(
          deps,
          table(
            'Dependencies',
            ['Dependency', 'Status', 'Latency', 'Note'],
            depRows.map(([n, d]) => [
              n,
              badge(d.status, toneOf(d.status)),
              d.latency_ms === null ? '—' : `${num(d.latency_ms, 1)} ms`,
              d.error ?? ''
            ])
          )
        )
        swap(
          codes,
          table(
            'Errors by envelope code',
            ['Code', 'Responses'],
            t.errors_by_code.map((c) => [h('code', {}, c.code), num(c.count)]),
            { empty: 'No error responses in this window.' }
          )
        )
        swap(
          routes,
          table(
            'Busiest routes',
            ['Route', 'Requests', '5xx', 'Avg', 'Max'],
            t.routes.map((r) => [
              h('code', {}, r.route),
              num(r.requests),
              num(r.errors),
              `${num(r.avg_ms, 1)} ms`,
              `${num(r.max_ms, 1)} ms`
            ])
          )
        )
        swap(
          upstreams,
          table(
            'Upstream outcomes',
            ['Upstream', 'Requests', 'Outcomes'],
            t.upstreams.map((u) => [
              u.upstream,
              num(u.requests),
              Object.entries(u.outcomes).map(([o, n]) => badge(`${o}: ${n}`, o === 'success' ? 'ok' : 'bad'))
            ]),
            { empty: 'No proxied requests in this window.' }
          )
        )
      },
      destroy() {
        rps.destroy()
        latency.destroy()
      }
    }
  }
}
