/** Upstreams: every service and host, breaker state and history, health checks, retry budget, failures. */
import { get } from '../api.js'
import { ago, badge, h, num, section, swap, table, time, toneOf } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { Breakers, HealthCheck } from './types.js'

const checkText = (c: HealthCheck) =>
  `${c.ok ? 'ok' : `failed (${c.error ?? 'error'})`}, ${num(c.latency_ms, 1)} ms, ${ago(c.at)}`
const budgetText = (r: Breakers['upstreams'][number]['retry_budget']) =>
  `${num(r.retries)} retries for ${num(r.requests)} requests in ${r.window_s} s; ${num(r.available)} more allowed ` +
  `(${num(r.ratio * 100)} % of requests, at least ${r.min_retries}).`

export const upstreamsView: ViewDef = {
  id: 'upstreams',
  title: 'Upstreams',
  refreshMs: 3_000,
  scope: "Breakers, health checks and retry budgets are per instance: these are this instance's.",
  mount(root) {
    const head = h('p', { class: 'hint', id: 'upstreams-policy' })
    const list = h('div', { id: 'upstreams-list' })
    root.append(head, list)
    return {
      async refresh() {
        const b = await get<Breakers>('/api/v1/meta/breakers')
        swap(
          head,
          `Instance ${b.instance_id}. A breaker opens after ${b.breaker.failure_threshold} consecutive failures, ` +
            'probes after ' +
            `${num(b.breaker.open_ms / 1000)} s and closes after ${b.breaker.success_threshold} successes; ` +
            `hosts are checked every ${num(b.breaker.health_interval_ms / 1000)} s.`
        )
        swap(
          list,
          b.upstreams.map((u) =>
            section(
              `Upstream ${u.name}`,
              h(
                'p',
                { class: 'hint' },
                `Serves ${u.prefixes.join(', ') || '(no proxy route)'} · timeout ${num(u.timeout_ms / 1000)} s · ` +
                  `connect ${num(u.connect_timeout_ms / 1000)} s`
              ),
              table(
                `Hosts of ${u.name}`,
                ['Host', 'Breaker', 'Requests', 'Failures', 'Last health check', 'Recent checks'],
                u.hosts.map((host) => [
                  h('code', {}, host.host),
                  h('span', { 'data-breaker': `${u.name} ${host.host}` }, badge(host.state, toneOf(host.state))),
                  num(host.requests),
                  num(host.failures),
                  host.last_check === null ? 'not checked yet' : checkText(host.last_check),
                  h(
                    'span',
                    {
                      class: 'checks',
                      'aria-label': `${host.checks.filter((c) => c.ok).length} of ${host.checks.length} checks passed`
                    },
                    host.checks.slice(0, 10).map((c) =>
                      h('span', {
                        class: `tick ${c.ok ? 'ok' : 'bad'}`,
                        title: `${time(c.at)} ${c.ok ? 'ok' : (c.error ?? 'failed')}`
                      })
                    )
                  )
                ])
              ),
              h(
                'div',
                { class: 'grid-3' },
                h('div', {}, h('h3', {}, 'Retry budget'), h('p', {}, budgetText(u.retry_budget))),
                h(
                  'div',
                  {},
                  h('h3', {}, 'Failures by kind (recent)'),
                  Object.keys(u.failures.by_kind).length === 0
                    ? h('p', { class: 'empty' }, 'No recent failures.')
                    : h(
                        'p',
                        {},
                        Object.entries(u.failures.by_kind).map(([k, n]) => badge(`${k}: ${n}`, 'bad'))
                      )
                ),
                h(
                  'div',
                  {},
                  h('h3', {}, 'Breaker history'),
                  u.transitions.length === 0
                    ? h('p', { class: 'empty' }, 'No state change since this instance started.')
                    : h(
                        'ol',
                        { class: 'history' },
                        u.transitions
                          .slice(0, 8)
                          .map((t) =>
                            h(
                              'li',
                              {},
                              h('time', { datetime: t.at }, time(t.at)),
                              ' ',
                              h('code', {}, t.host),
                              ' ',
                              t.from ?? 'start',
                              ' → ',
                              badge(t.to, toneOf(t.to))
                            )
                          )
                      )
                )
              )
            )
          )
        )
      }
    }
  }
}
