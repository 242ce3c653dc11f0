/** Limits: tiers and rules in force, the identities closest to their limits, inspect and clear one. */
import { api, get } from '../api.js'
import { confirmAction, notify } from '../dialog.js'
import { badge, button, h, num, section, swap, table } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { Limits } from './types.js'

const IDENTITY = /^(ip:[0-9a-fA-F:.]{2,45}|(user|key):[0-9a-f-]{36})$/

export const limitsView: ViewDef = {
  id: 'limits',
  title: 'Limits',
  refreshMs: 10_000,
  scope:
    'Limiter state is shared by every instance when Redis is configured; ' +
    '"refused" counts this instance\'s 429s of the last 5 minutes.',
  mount(root, ctx) {
    const status = h('div', { class: 'stats', id: 'limits-status' })
    const rules = h('div', { id: 'limits-rules' })
    const top = h('div', { id: 'limits-top' })
    const detail = h('div', { id: 'limits-detail', 'aria-live': 'polite' })
    const input = h('input', {
      type: 'text',
      id: 'limits-identity',
      placeholder: 'ip:203.0.113.7 or user:UUID',
      spellcheck: 'false'
    })

    async function inspect(identity: string): Promise<void> {
      if (!IDENTITY.test(identity)) {
        swap(detail, h('p', { class: 'status error' }, 'An identity is ip:ADDRESS, user:UUID or key:UUID.'))
        return
      }
      const s = await api<{
        key: string
        mode: string
        penalised: boolean
        rules: { rule: string; tat_ahead_ms: number }[]
      }>('GET', `/api/v1/cache/rate-limits/${encodeURIComponent(identity)}`)
      swap(
        detail,
        h('h3', {}, `State of ${s.key}`),
        h('p', {}, `Limiter mode ${s.mode}; ${s.penalised ? 'on half limits (escalation)' : 'no escalation penalty'}.`),
        table(
          `Buckets of ${s.key}`,
          ['Rule', 'Debt ahead of now'],
          s.rules.map((r) => [r.rule, `${num(r.tat_ahead_ms)} ms`]),
          { empty: 'No bucket holds state: the identity is not limited now.' }
        ),
        ctx.canAct
          ? button(`Clear limits of ${s.key}`, () => void clear(s.key), {
              tone: 'danger',
              key: `clear-detail-${s.key}`
            })
          : null
      )
    }
    async function clear(identity: string): Promise<void> {
      const ok = await confirmAction(
        'Clear rate limits',
        `Empty every rate-limit bucket of ${identity} on all instances and lift any escalation penalty. ` +
          'Its next requests start with a full allowance.',
        'Clear limits'
      )
      if (!ok) return
      try {
        const r = await api<{ cleared: number }>('DELETE', `/api/v1/cache/rate-limits/${encodeURIComponent(identity)}`)
        notify(`Cleared ${r.cleared} bucket(s) of ${identity}.`)
        ctx.refreshNow()
        await inspect(identity)
      } catch (err) {
        notify(`Could not clear: ${(err as Error).message}`, 'bad')
      }
    }

    const form = h(
      'form',
      { class: 'inline-form', 'aria-label': 'Inspect an identity' },
      h('label', { for: 'limits-identity' }, 'Identity'),
      input,
      h('button', { type: 'submit' }, 'Inspect')
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void inspect(input.value.trim()).catch((err: Error) =>
        swap(detail, h('p', { class: 'status error' }, err.message))
      )
    })
    root.append(
      status,
      section('Most limited identities now', top),
      section('Inspect one identity', form, detail),
      section('Tiers and rules in force', rules)
    )
    return {
      async refresh() {
        const l = await get<Limits>('/api/v1/meta/limits?top=20')
        swap(
          status,
          h(
            'div',
            { class: 'stat' },
            h('div', { class: 'stat-label' }, 'Limiting'),
            h('div', { class: 'stat-value' }, l.enabled ? 'on' : 'off')
          ),
          h(
            'div',
            { class: 'stat' },
            h('div', { class: 'stat-label' }, 'Mode'),
            h('div', { class: 'stat-value' }, l.mode),
            h('div', { class: 'stat-note' }, `failure mode ${l.failure_mode}`)
          ),
          h(
            'div',
            { class: 'stat' },
            h('div', { class: 'stat-label' }, 'Instances'),
            h('div', { class: 'stat-value' }, num(l.instances)),
            h('div', { class: 'stat-note' }, `state is ${l.scope === 'cluster' ? 'cluster-wide' : 'per instance'}`)
          )
        )
        swap(
          rules,
          table(
            'Tiers and rules',
            ['Name', 'Kind', 'Applies to', 'Per', 'Limit', 'Burst'],
            l.rules.map((r) => [
              h('code', {}, r.name),
              r.kind,
              r.pattern === null ? 'every limited route' : `${r.methods?.join(',') ?? 'any'} ${r.pattern}`,
              r.key,
              `${num(r.limit)} / ${num(r.period_s)} s`,
              num(r.burst)
            ])
          )
        )
        swap(
          top,
          table(
            'Most limited identities',
            ['Identity', 'Fullest bucket', 'Refused (5 min)', 'Buckets', 'Actions'],
            l.identities.map((i) => [
              h('code', {}, i.identity),
              h(
                'span',
                {},
                h('meter', { min: 0, max: 1, value: i.usage, 'aria-label': `${Math.round(i.usage * 100)} % used` }),
                ` ${num(i.usage * 100)} %`
              ),
              i.refused_recent > 0 ? badge(String(i.refused_recent), 'bad') : '0',
              i.rules.map((r) => `${r.rule} ${num(r.usage * 100)} %`).join(', '),
              h(
                'span',
                { class: 'row-actions' },
                button('Inspect', () => void inspect(i.identity), { key: `inspect-${i.identity}` }),
                ctx.canAct
                  ? button('Clear', () => void clear(i.identity), { tone: 'danger', key: `clear-${i.identity}` })
                  : null
              )
            ]),
            { empty: 'No identity is near a limit.' }
          )
        )
      }
    }
  }
}
