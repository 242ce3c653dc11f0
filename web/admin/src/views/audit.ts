/** Audit: the log with filters, chain verification (first broken link highlighted), the root hash. */
import { get, qs } from '../api.js'
import { badge, button, h, num, section, swap, table, time, toneOf } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { AuditEntry, Page } from './types.js'

interface Verify {
  valid: boolean
  entries: number
  root: string
  first_invalid_id?: number
  reason?: string
}
interface Root {
  root: string
  audit_id: number
  entries: number
  at: string | null
}

const LIMIT = 25

export const auditView: ViewDef = {
  id: 'audit',
  title: 'Audit',
  refreshMs: 15_000,
  scope: 'One hash-chained log in the shared database. Your own reads of this dashboard are in it too.',
  mount(root) {
    const action = h('input', {
      type: 'text',
      id: 'audit-action',
      placeholder: 'auth. or backup.verified',
      spellcheck: 'false'
    })
    const actor = h('input', { type: 'text', id: 'audit-actor', placeholder: 'user UUID', spellcheck: 'false' })
    const target = h('input', { type: 'text', id: 'audit-target', placeholder: 'user, backup…', spellcheck: 'false' })
    const outcome = h(
      'select',
      { id: 'audit-outcome' },
      ['', 'success', 'failure'].map((o) => h('option', { value: o }, o === '' ? 'any outcome' : o))
    )
    const rootBox = h('div', { id: 'audit-root' })
    const verifyBox = h('div', { id: 'audit-verify', 'aria-live': 'polite' })
    const list = h('div', { id: 'audit-list' })
    let page = 1
    let broken: number | undefined

    const form = h(
      'form',
      { class: 'inline-form', role: 'search', 'aria-label': 'Filter the audit log' },
      h('label', { for: 'audit-action' }, 'Action'),
      action,
      h('label', { for: 'audit-actor' }, 'Actor'),
      actor,
      h('label', { for: 'audit-target' }, 'Target type'),
      target,
      h('label', { for: 'audit-outcome' }, 'Outcome'),
      outcome,
      h('button', { type: 'submit' }, 'Filter')
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      page = 1
      void load()
    })

    async function load(): Promise<void> {
      const r = await get<{ entries: AuditEntry[]; pagination: Page }>(
        `/api/v1/audit/logs${qs({
          page,
          limit: LIMIT,
          action: action.value.trim(),
          actor_id: actor.value.trim(),
          target_type: target.value.trim(),
          outcome: outcome.value
        })}`
      )
      const pager = h(
        'div',
        { class: 'pager' },
        button(
          'Newer',
          () => {
            page = Math.max(1, page - 1)
            void load()
          },
          { key: 'audit-newer' }
        ),
        h(
          'span',
          {},
          `Page ${r.pagination.page} of ${Math.max(1, r.pagination.pages)} · ${num(r.pagination.total)} entries`
        ),
        button(
          'Older',
          () => {
            page = Math.min(Math.max(1, r.pagination.pages), page + 1)
            void load()
          },
          { key: 'audit-older' }
        )
      )
      swap(
        list,
        table(
          'Audit entries',
          ['#', 'When', 'Action', 'Actor', 'Target', 'Outcome', 'Hash'],
          r.entries.map((e) => [
            String(e.audit_id),
            time(e.occurred_at),
            h('code', {}, e.action),
            e.actor_id === null ? 'system' : `${e.actor_role ?? ''} ${e.actor_id.slice(0, 8)}`,
            `${e.target_type ?? ''} ${e.target_id ?? ''}`.trim(),
            badge(e.outcome, toneOf(e.outcome)),
            h('code', { title: e.hash }, e.hash.slice(0, 12))
          ]),
          {
            empty: 'No entry matches.',
            rowClass: (i) => (r.entries[i].audit_id === broken ? 'broken' : '')
          }
        ),
        pager
      )
    }

    async function verify(): Promise<void> {
      swap(verifyBox, h('p', {}, 'Recomputing every hash…'))
      const v = await get<Verify>('/api/v1/audit/verify')
      broken = v.first_invalid_id
      if (v.valid) {
        swap(
          verifyBox,
          h('p', { class: 'status ok' }, `Chain intact: ${num(v.entries)} entries, root ${v.root.slice(0, 16)}…`)
        )
      } else {
        swap(
          verifyBox,
          h(
            'p',
            { class: 'status error', role: 'alert' },
            `Chain broken at entry #${v.first_invalid_id}: ${v.reason ?? 'hash mismatch'}. ` +
              'Entries from there on cannot be trusted.'
          )
        )
        // Jump to the page that holds the first broken entry (ids grow by one per entry).
        const head = await get<Root>('/api/v1/audit/root')
        page = Math.max(1, Math.floor((head.audit_id - (v.first_invalid_id ?? head.audit_id)) / LIMIT) + 1)
        action.value = ''
        actor.value = ''
        target.value = ''
        outcome.value = ''
      }
      await load()
    }

    root.append(
      h(
        'div',
        { class: 'grid-2' },
        section('Current root hash', rootBox),
        section(
          'Chain verification',
          h('p', { class: 'hint' }, 'Recomputes the chain from the first entry.'),
          button(
            'Verify the chain',
            () => void verify().catch((err: Error) => swap(verifyBox, h('p', { class: 'status error' }, err.message))),
            { key: 'audit-verify' }
          ),
          verifyBox
        )
      ),
      section('Log', form, list)
    )
    return {
      async refresh() {
        const r = await get<Root>('/api/v1/audit/root')
        swap(
          rootBox,
          h('p', {}, h('code', { class: 'hash', id: 'audit-root-hash' }, r.root)),
          h(
            'p',
            { class: 'hint' },
            `Head entry #${r.audit_id} of ${num(r.entries)}${r.at ? `, written ${time(r.at)}` : ''}.`
          )
        )
        await load()
      }
    }
  }
}
