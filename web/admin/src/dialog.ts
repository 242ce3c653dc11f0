/**
 * The confirmation every action goes through: a modal <dialog> that says what will happen, in
 * words, before the API call is made. Escape or Cancel refuses; focus starts on Cancel so a stray
 * Enter never confirms, and returns to the control that opened it.
 */
import { h } from './dom.js'

export function confirmAction(title: string, consequence: string, confirmLabel: string): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null
  const cancel = h('button', { type: 'button', value: 'cancel', autofocus: true }, 'Cancel')
  const ok = h('button', { type: 'button', value: 'confirm', class: 'danger' }, confirmLabel)
  const dialog = h(
    'dialog',
    { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
    h('h2', { id: 'confirm-title' }, title),
    h('p', { id: 'confirm-text' }, consequence),
    h('p', { class: 'hint' }, 'This is recorded in the audit log under your name.'),
    h('div', { class: 'actions' }, cancel, ok)
  )
  document.body.append(dialog)
  return new Promise((resolve) => {
    const close = (answer: boolean) => {
      dialog.close()
      dialog.remove()
      opener?.focus()
      resolve(answer)
    }
    cancel.addEventListener('click', () => close(false))
    ok.addEventListener('click', () => close(true))
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault()
      close(false)
    })
    dialog.showModal()
    cancel.focus()
  })
}

/** A short message for the outcome of an action, read out by screen readers. */
export function notify(text: string, tone: 'ok' | 'bad' = 'ok'): void {
  let region = document.getElementById('notices')
  if (region === null) {
    region = h('div', { id: 'notices', role: 'status', 'aria-live': 'polite' })
    document.body.append(region)
  }
  const note = h('p', { class: `notice ${tone}` }, text)
  region.append(note)
  setTimeout(() => note.remove(), 6_000)
}
