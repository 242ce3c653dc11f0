/** Configuration: the effective settings, secrets masked by the gateway (the CLI's masking). */
import { get } from '../api.js'
import { h, section, swap, table, time } from '../dom.js'
import type { ViewDef } from '../view.js'

function flatten(prefix: string, v: unknown, out: [string, string][]): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix === '' ? k : `${prefix}.${k}`, x, out)
  } else out.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)])
}

export const configView: ViewDef = {
  id: 'config',
  title: 'Configuration',
  refreshMs: 60_000,
  scope: 'The settings this instance runs with. Secrets are masked by the gateway before they leave it.',
  mount(root) {
    const filter = h('input', { type: 'search', id: 'config-filter', placeholder: 'rateLimit, upstreams…' })
    const list = h('div', { id: 'config-list' })
    const when = h('p', { class: 'hint' })
    let rows: [string, string][] = []
    const render = () => {
      const f = filter.value.trim().toLowerCase()
      swap(
        list,
        table(
          'Settings',
          ['Setting', 'Value'],
          rows
            .filter(([k, v]) => f === '' || k.toLowerCase().includes(f) || v.toLowerCase().includes(f))
            .map(([k, v]) => [h('code', {}, k), h('code', { class: v === '"***"' || v === '***' ? 'masked' : '' }, v)])
        )
      )
    }
    filter.addEventListener('input', render)
    root.append(
      section(
        'Effective settings',
        h('div', { class: 'inline-form' }, h('label', { for: 'config-filter' }, 'Filter'), filter),
        when,
        list
      )
    )
    return {
      async refresh() {
        const c = await get<{ generated_at: string; settings: Record<string, unknown> }>('/api/v1/meta/config')
        rows = []
        flatten('', c.settings, rows)
        when.textContent = `Read ${time(c.generated_at)}.`
        render()
      }
    }
  }
}
