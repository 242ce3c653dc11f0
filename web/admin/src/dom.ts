/**
 * A few DOM helpers instead of a framework. Text always goes in as text (never innerHTML), so
 * nothing the API returns can become markup. `swap` replaces a region's content on refresh and
 * gives keyboard focus back to the control with the same data-key, so live refreshes never throw
 * a keyboard user out of the table they are in.
 */
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener)
    else if (k === 'class') el.className = String(v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

/** Replaces `el`'s children, keeping focus on the control whose data-key survives the refresh. */
export function swap(el: Element, ...children: (Child | Child[])[]): void {
  const active = document.activeElement
  const key = active instanceof HTMLElement && el.contains(active) ? active.dataset.key : undefined
  const next = h('div', {}, ...children)
  el.replaceChildren(...next.childNodes)
  if (key !== undefined) {
    const again = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)
    again?.focus()
  }
}

export function table(
  caption: string,
  head: string[],
  rows: (Child | Child[])[][],
  opts: { empty?: string; rowClass?: (i: number) => string } = {}
) {
  if (rows.length === 0) return h('p', { class: 'empty' }, opts.empty ?? 'Nothing to show.')
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c))
        )
      ),
      h(
        'tbody',
        {},
        rows.map((r, i) =>
          h(
            'tr',
            { class: opts.rowClass?.(i) },
            r.map((c) => h('td', {}, c))
          )
        )
      )
    )
  )
}

export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info' = 'info') {
  return h('span', { class: `badge ${tone}` }, text)
}

export const toneOf = (status: string): 'ok' | 'warn' | 'bad' | 'info' =>
  /^(healthy|closed|completed|success|redis|memory|valid|active|ok)$/.test(status)
    ? 'ok'
    : /^(degraded|half_open|pending|running|suspended)$/.test(status)
      ? 'warn'
      : /^(unhealthy|open|failed|failure|invalid|deleted|degraded_closed)$/.test(status)
        ? 'bad'
        : 'info'

export function stat(label: string, value: string, note?: string, id?: string) {
  return h(
    'div',
    { class: 'stat', 'data-stat': id },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    note ? h('div', { class: 'stat-note' }, note) : null
  )
}

export function section(title: string, ...body: (Child | Child[])[]) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body)
}

export const num = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toLocaleString('en-US', { maximumFractionDigits: i === 0 ? 0 : 1 })} ${units[i]}`
}

export function ago(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—'
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000)
  if (s < 0) return `in ${-s} s`
  if (s < 90) return `${s} s ago`
  if (s < 5400) return `${Math.round(s / 60)} min ago`
  if (s < 172800) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86400)} d ago`
}

export const time = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString('en-GB', { hour12: false }) : '—'

export function button(
  label: string,
  onclick: () => void,
  opts: { key?: string; tone?: 'danger' | 'primary'; title?: string } = {}
) {
  return h(
    'button',
    { type: 'button', class: opts.tone ?? '', 'data-key': opts.key, title: opts.title, onclick },
    label
  )
}

export function field(label: string, control: HTMLElement) {
  return h('label', { class: 'field' }, h('span', {}, label), control)
}
