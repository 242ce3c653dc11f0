/**
 * The operator dashboard (issue 18): sign-in, the role gate, navigation between views (hash
 * routes, so the back button works and a view can be linked), and live refresh of the open view
 * without reloading the page. Refreshing pauses while the tab is hidden.
 */
import { canAct, currentUser, isOperator, signOut, whenSignedOut } from './api.js'
import { h } from './dom.js'
import { signInView } from './signin.js'
import type { ViewDef, ViewInstance } from './view.js'
import { overviewView } from './views/overview.js'
import { upstreamsView } from './views/upstreams.js'
import { limitsView } from './views/limits.js'
import { identityView } from './views/identity.js'
import { auditView } from './views/audit.js'
import { backupsView } from './views/backups.js'
import { chainView } from './views/chain.js'
import { configView } from './views/config.js'

const VIEWS: ViewDef[] = [
  overviewView,
  upstreamsView,
  limitsView,
  identityView,
  auditView,
  backupsView,
  chainView,
  configView
]
const root = document.getElementById('app') as HTMLElement

let active: { def: ViewDef; instance: ViewInstance; timer?: number; main: HTMLElement } | null = null

function stopView(): void {
  if (active === null) return
  clearTimeout(active.timer)
  active.instance.destroy?.()
  active = null
}

function showSignIn(message = 'Sign in to continue.'): void {
  stopView()
  root.replaceChildren(signInView(message, route))
  document.getElementById('signin-email')?.focus()
}

function notOperator(): void {
  stopView()
  const u = currentUser()
  const out = h('button', { type: 'button', onclick: () => void signOut() }, 'Sign out')
  root.replaceChildren(
    h(
      'main',
      { class: 'signin', id: 'main' },
      h('h1', {}, 'Not an operator'),
      h(
        'p',
        { class: 'status error', role: 'alert' },
        `You are signed in as ${u?.email ?? u?.tron_address ?? u?.user_id} with the role "${u?.role}". ` +
          'This dashboard is for operators: an admin or super_admin account.'
      ),
      h('p', { class: 'hint' }, 'Nothing here is available to this account; the API refuses the same calls.'),
      out
    )
  )
  out.focus()
}

function currentViewId(): string {
  const id = location.hash.replace(/^#\/?/, '')
  return VIEWS.some((v) => v.id === id) ? id : VIEWS[0].id
}

function layout(def: ViewDef): HTMLElement {
  const u = currentUser()
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Views' },
    h(
      'ul',
      {},
      VIEWS.map((v) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `#/${v.id}`, 'aria-current': v.id === def.id ? 'page' : undefined, id: `nav-${v.id}` },
            v.title
          )
        )
      )
    )
  )
  const who = h(
    'div',
    { class: 'who' },
    h('span', { class: 'who-name' }, u?.email ?? u?.tron_address ?? ''),
    h(
      'span',
      { class: `badge ${canAct() ? 'warn' : 'info'}`, title: canAct() ? 'Can act' : 'Read-only' },
      u?.role ?? ''
    ),
    h('button', { type: 'button', class: 'link', onclick: () => void signOut() }, 'Sign out')
  )
  const main = h('main', { id: 'main', class: 'view', tabindex: -1 })
  root.replaceChildren(
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('header', { class: 'top' }, h('div', { class: 'brand' }, 'Lucid gateway'), who),
    h('div', { class: 'shell' }, nav, main)
  )
  return main
}

function route(): void {
  if (currentUser() === null) return showSignIn()
  if (!isOperator()) return notOperator()
  const def = VIEWS.find((v) => v.id === currentViewId()) as ViewDef
  stopView()
  const main = layout(def)
  const status = h('p', { class: 'updated', role: 'status', 'aria-live': 'off' }, 'Loading…')
  const body = h('div', { class: 'view-body' })
  main.append(
    h(
      'div',
      { class: 'view-head' },
      h('h1', {}, def.title),
      def.scope ? h('p', { class: 'scope' }, def.scope) : null,
      status
    ),
    body
  )
  const instance = def.mount(body, { canAct: canAct(), refreshNow: () => void tick() })
  const current = { def, instance, main } as NonNullable<typeof active>
  active = current
  async function tick(): Promise<void> {
    if (active !== current) return
    clearTimeout(current.timer)
    try {
      await current.instance.refresh()
      const at = new Date().toLocaleTimeString('en-GB', { hour12: false })
      status.textContent = `Updated ${at} · every ${def.refreshMs / 1000} s`
      status.classList.remove('error')
    } catch (err) {
      status.textContent = `Could not refresh: ${(err as Error).message}`
      status.classList.add('error')
    }
    if (active === current) current.timer = window.setTimeout(() => void tick(), def.refreshMs)
  }
  void tick()
}

whenSignedOut((reason) => {
  showSignIn(reason)
})
window.addEventListener('hashchange', route)
document.addEventListener('visibilitychange', () => {
  if (active === null) return
  if (document.hidden) clearTimeout(active.timer)
  else route()
})
route()
