/** Identity: users (search, role, status), their login sessions and API keys; revoke (super_admin). */
import { api, get, qs } from '../api.js'
import { confirmAction, notify } from '../dialog.js'
import { ago, badge, button, h, section, swap, table, time, toneOf } from '../dom.js'
import type { ViewDef } from '../view.js'
import type { Page, UserRow } from './types.js'

interface LoginSession {
  session_id: string
  method: string
  ip: string | null
  user_agent: string | null
  created_at: string
  last_used_at: string
  expires_at: string
}
interface ApiKey {
  key_id: string
  name: string
  prefix: string
  role: string
  created_at: string
  expires_at: string | null
  last_used_at: string | null
}

const ROLES = ['user', 'node_operator', 'admin', 'super_admin']
const nameOf = (u: UserRow) => u.email ?? u.tron_address ?? u.username ?? u.user_id

export const identityView: ViewDef = {
  id: 'identity',
  title: 'Identity',
  refreshMs: 15_000,
  scope: 'Users, login sessions and API keys are in the shared database: the same on every instance.',
  mount(root, ctx) {
    const q = h('input', { type: 'search', id: 'users-q', placeholder: 'email, address or name' })
    const role = h(
      'select',
      { id: 'users-role' },
      h('option', { value: '' }, 'any role'),
      ROLES.map((r) => h('option', { value: r }, r))
    )
    const status = h(
      'select',
      { id: 'users-status' },
      ['', 'active', 'suspended', 'deleted'].map((s) => h('option', { value: s }, s === '' ? 'any status' : s))
    )
    const list = h('div', { id: 'users-list' })
    const detail = h('div', { id: 'user-detail' })
    let selected: string | null = null

    const form = h(
      'form',
      { class: 'inline-form', role: 'search', 'aria-label': 'Search users' },
      h('label', { for: 'users-q' }, 'Search'),
      q,
      h('label', { for: 'users-role' }, 'Role'),
      role,
      h('label', { for: 'users-status' }, 'Status'),
      status,
      h('button', { type: 'submit' }, 'Search')
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void loadList()
    })

    async function loadList(): Promise<void> {
      const r = await get<{ users: UserRow[]; pagination: Page }>(
        `/api/v1/users${qs({ q: q.value.trim(), role: role.value, status: status.value, limit: 25 })}`
      )
      swap(
        list,
        table(
          'Users',
          ['User', 'Role', 'Status', 'Last login', ''],
          r.users.map((u) => [
            h('span', {}, nameOf(u), u.totp_enabled ? ' ' : null, u.totp_enabled ? badge('TOTP', 'info') : null),
            u.role,
            badge(u.status, toneOf(u.status)),
            ago(u.last_login),
            button('Open', () => void open(u.user_id), { key: `open-${u.user_id}` })
          ]),
          { empty: 'No user matches.' }
        ),
        h('p', { class: 'hint' }, `${r.pagination.total} user(s) match; the first 25 are shown.`)
      )
    }

    async function open(id: string): Promise<void> {
      selected = id
      const [u, s, k] = await Promise.all([
        get<UserRow>(`/api/v1/users/${id}`),
        get<{ sessions: LoginSession[] }>(`/api/v1/users/${id}/sessions`),
        get<{ api_keys: ApiKey[] }>(`/api/v1/users/${id}/api-keys`)
      ])
      const roleSelect = h(
        'select',
        { id: 'user-role', 'data-key': 'user-role' },
        ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r))
      )
      const roleRow = ctx.canAct
        ? h(
            'div',
            { class: 'inline-form' },
            h('label', { for: 'user-role' }, 'Role'),
            roleSelect,
            button('Change role', () => void changeRole(u, roleSelect.value), { key: 'change-role', tone: 'danger' })
          )
        : h('p', {}, 'Role: ', h('strong', {}, u.role))
      swap(
        detail,
        section(
          `User ${nameOf(u)}`,
          h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'User id'),
            h('dd', {}, h('code', {}, u.user_id)),
            h('dt', {}, 'Status'),
            h('dd', {}, badge(u.status, toneOf(u.status))),
            h('dt', {}, 'Created'),
            h('dd', {}, time(u.created_at)),
            h('dt', {}, 'Last login'),
            h('dd', {}, time(u.last_login))
          ),
          roleRow,
          h('h3', {}, 'Login sessions'),
          table(
            `Login sessions of ${nameOf(u)}`,
            ['Session', 'Method', 'From', 'Last used', 'Expires', ''],
            s.sessions.map((x) => [
              h('code', {}, x.session_id.slice(0, 8)),
              x.method,
              `${x.ip ?? '?'} ${x.user_agent ?? ''}`.trim(),
              ago(x.last_used_at),
              time(x.expires_at),
              ctx.canAct
                ? button('Revoke', () => void revokeSession(u, x), { tone: 'danger', key: `revoke-${x.session_id}` })
                : ''
            ]),
            { empty: 'No active login session.' }
          ),
          h('h3', {}, 'API keys'),
          table(
            `API keys of ${nameOf(u)}`,
            ['Name', 'Prefix', 'Role', 'Last used', 'Expires', ''],
            k.api_keys.map((x) => [
              x.name,
              h('code', {}, x.prefix),
              x.role,
              ago(x.last_used_at),
              time(x.expires_at),
              ctx.canAct
                ? button('Revoke', () => void revokeKey(u, x), { tone: 'danger', key: `revoke-key-${x.key_id}` })
                : ''
            ]),
            { empty: 'No API key.' }
          )
        )
      )
    }

    async function act(
      title: string,
      text: string,
      label: string,
      call: () => Promise<unknown>,
      done: string
    ): Promise<void> {
      if (!(await confirmAction(title, text, label))) return
      try {
        await call()
        notify(done)
        if (selected !== null) await open(selected)
        await loadList()
      } catch (err) {
        notify(`Refused: ${(err as Error).message}`, 'bad')
      }
    }
    const revokeSession = (u: UserRow, s: LoginSession) =>
      act(
        'Revoke login session',
        `Revoke the ${s.method} login session ${s.session_id.slice(0, 8)} of ${nameOf(u)} ` +
          `(from ${s.ip ?? 'an unknown address'}). ` +
          'Its access and refresh tokens are refused on every instance from the next request on.',
        'Revoke session',
        () => api('DELETE', `/api/v1/users/${u.user_id}/sessions/${s.session_id}`),
        `Session ${s.session_id.slice(0, 8)} revoked.`
      )
    const revokeKey = (u: UserRow, k: ApiKey) =>
      act(
        'Revoke API key',
        `Revoke the API key "${k.name}" (${k.prefix}…) of ${nameOf(u)}. ` +
          'Clients using it are refused from the next request on.',
        'Revoke key',
        () => api('DELETE', `/api/v1/users/${u.user_id}/api-keys/${k.key_id}`),
        `API key ${k.prefix}… revoked.`
      )
    const changeRole = (u: UserRow, to: string) =>
      to === u.role
        ? notify(`${nameOf(u)} already has the role ${to}.`)
        : act(
            'Change role',
            `Change the role of ${nameOf(u)} from ${u.role} to ${to}. It applies to their very next request.`,
            `Make ${to}`,
            () => api('PATCH', `/api/v1/users/${u.user_id}/role`, { role: to }),
            `${nameOf(u)} is now ${to}.`
          )

    root.append(section('Users', form, list), detail)
    return {
      async refresh() {
        await loadList()
        if (selected !== null && !detail.contains(document.activeElement)) await open(selected)
      }
    }
  }
}
