/**
 * Sign-in: an emailed code (POST /auth/login {email}, then /auth/verify {email, code}), or a TRON
 * wallet signature when a wallet extension (TronLink) is in the page: challenge → the wallet's
 * signMessageV2 (TIP-191) → /auth/login. The private key never leaves the wallet. A TOTP code is
 * asked for when the account has one (401 LUCID_ERR_2007 with details.totp_required).
 */
import { ApiError, publicCall, setTokens } from './api.js'
import { h } from './dom.js'

interface TronWebLike {
  defaultAddress?: { base58?: string | false }
  trx: { signMessageV2(message: string): Promise<string> | string }
}
declare global {
  interface Window {
    tronWeb?: TronWebLike
    tronLink?: { tronWeb?: TronWebLike; request?(args: { method: string }): Promise<unknown> }
  }
}

const walletOf = () => window.tronLink?.tronWeb ?? window.tronWeb

async function walletAddress(): Promise<{ tw: TronWebLike; address: string }> {
  // TronLink asks the user to connect the site before it exposes an address.
  if (window.tronLink?.request !== undefined && !walletOf()?.defaultAddress?.base58) {
    await window.tronLink.request({ method: 'tron_requestAccounts' })
  }
  const tw = walletOf()
  const address = tw?.defaultAddress?.base58
  if (tw === undefined || typeof address !== 'string' || address === '')
    throw new Error('Unlock your wallet and connect this site, then try again.')
  return { tw, address }
}

type Tokens = Parameters<typeof setTokens>[0]

export function signInView(message: string, done: () => void): HTMLElement {
  const status = h('p', { class: 'status', role: 'status' }, message)
  const fail = (err: unknown) => {
    status.textContent = err instanceof ApiError ? `${err.message} (${err.code})` : (err as Error).message
    status.className = 'status error'
  }
  const say = (text: string) => {
    status.textContent = text
    status.className = 'status'
  }

  const email = h('input', {
    type: 'email',
    name: 'email',
    id: 'signin-email',
    autocomplete: 'username',
    required: true
  })
  const code = h('input', {
    type: 'text',
    name: 'code',
    id: 'signin-code',
    inputmode: 'numeric',
    pattern: '[0-9]{6}',
    maxlength: 6,
    autocomplete: 'one-time-code'
  })
  const totp = h('input', {
    type: 'text',
    name: 'totp',
    id: 'signin-totp',
    inputmode: 'numeric',
    pattern: '[0-9]{6}',
    maxlength: 6,
    autocomplete: 'one-time-code'
  })
  const codeRow = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: 'signin-code' }, 'Code from the email'),
    code
  )
  const totpRow = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: 'signin-totp' }, 'Authenticator code'),
    totp
  )
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Email me a code')
  let stage: 'email' | 'code' = 'email'
  let pendingWallet: (() => Promise<void>) | null = null

  const finish = (t: Tokens) => {
    setTokens(t)
    done()
  }
  const needsTotp = (err: unknown) =>
    err instanceof ApiError && err.code === 'LUCID_ERR_2007' && err.details.totp_required === true

  const form = h(
    'form',
    { class: 'signin-form', 'aria-labelledby': 'signin-email-title' },
    h('h2', { id: 'signin-email-title' }, 'Sign in with an emailed code'),
    h('div', { class: 'field' }, h('label', { for: 'signin-email' }, 'Email'), email),
    codeRow,
    totpRow,
    submit
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    void (async () => {
      try {
        if (stage === 'email') {
          await publicCall('/api/v1/auth/login', { email: email.value.trim() })
          stage = 'code'
          codeRow.hidden = false
          submit.textContent = 'Sign in'
          say(`If ${email.value.trim()} has an account, a 6-digit code is on its way.`)
          code.focus()
          return
        }
        const body: Record<string, string> = { email: email.value.trim(), code: code.value.trim() }
        if (!totpRow.hidden) body.totp_code = totp.value.trim()
        finish(await publicCall<Tokens>('/api/v1/auth/verify', body))
      } catch (err) {
        if (needsTotp(err)) {
          totpRow.hidden = false
          say('Enter the code from your authenticator app.')
          totp.focus()
          return
        }
        fail(err)
      }
    })()
  })

  async function walletSignIn(): Promise<void> {
    const { tw, address } = await walletAddress()
    const c = await publicCall<{ nonce: string; message: string }>('/api/v1/auth/challenge', { tron_address: address })
    say('Confirm the signature in your wallet…')
    const signature = await tw.trx.signMessageV2(c.message)
    const body: Record<string, string> = { tron_address: address, signature, nonce: c.nonce }
    if (!totpRow.hidden && totp.value.trim() !== '') body.totp_code = totp.value.trim()
    try {
      finish(await publicCall<Tokens>('/api/v1/auth/login', body))
    } catch (err) {
      if (!needsTotp(err)) throw err
      totpRow.hidden = false
      pendingWallet = walletSignIn
      say('Enter the code from your authenticator app, then sign with the wallet again.')
      totp.focus()
    }
  }
  const hasWallet = walletOf() !== undefined || window.tronLink !== undefined
  const walletButton = h(
    'button',
    { type: 'button', class: 'primary', id: 'wallet-signin', disabled: !hasWallet },
    'Sign in with TRON wallet'
  )
  walletButton.addEventListener('click', () => void (pendingWallet ?? walletSignIn)().catch(fail))
  const wallet = h(
    'section',
    { class: 'signin-form', 'aria-labelledby': 'signin-wallet-title' },
    h('h2', { id: 'signin-wallet-title' }, 'Sign in with a TRON wallet'),
    h(
      'p',
      { class: 'hint' },
      hasWallet
        ? 'Your wallet signs a one-time challenge; no transaction is made.'
        : 'No TRON wallet extension (TronLink) was found in this browser.'
    ),
    walletButton
  )

  return h(
    'main',
    { class: 'signin', id: 'main' },
    h('h1', {}, 'Lucid gateway · operator dashboard'),
    h('p', { class: 'hint' }, 'For admins and super_admins. Your session lives only in this tab.'),
    status,
    h('div', { class: 'signin-grid' }, form, wallet)
  )
}
