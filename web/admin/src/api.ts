/**
 * The gateway's public API, called with the operator's own bearer token. Tokens live only in this
 * module's memory: never localStorage, sessionStorage or cookies, so another script or a later
 * visitor of the machine finds nothing, and closing the tab ends the session. The access token is
 * renewed with the refresh token a minute before it expires (and once on a 401 "expired").
 */
export interface User {
  user_id: string
  email: string | null
  tron_address: string | null
  role: 'user' | 'node_operator' | 'admin' | 'super_admin'
  status: string
}

interface Tokens {
  access_token: string
  refresh_token: string
  expires_in: number
  user: User
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message)
  }
}

let tokens: Tokens | null = null
let refreshTimer: number | undefined
let onSignedOut: (reason: string) => void = () => undefined

export const currentUser = () => tokens?.user ?? null
export const isOperator = () => tokens !== null && (tokens.user.role === 'admin' || tokens.user.role === 'super_admin')
export const canAct = () => tokens?.user.role === 'super_admin'

export function whenSignedOut(fn: (reason: string) => void): void {
  onSignedOut = fn
}

async function raw(method: string, path: string, body?: unknown, auth = true): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (auth && tokens !== null) headers.authorization = `Bearer ${tokens.access_token}`
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store'
  })
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T
  const text = await res.text()
  const json = text === '' ? undefined : JSON.parse(text)
  if (!res.ok) {
    const e = json?.error ?? {}
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.details ?? {})
  }
  return json as T
}

export function setTokens(t: Tokens): void {
  tokens = t
  clearTimeout(refreshTimer)
  // Renew a minute early, or halfway through a token shorter than two minutes, silently.
  const ttlMs = t.expires_in * 1000
  const inMs = Math.max(5_000, ttlMs > 120_000 ? ttlMs - 60_000 : ttlMs / 2)
  refreshTimer = window.setTimeout(
    () => void refresh().catch(() => signOutLocally('Your session ended; sign in again.')),
    inMs
  )
}

export async function refresh(): Promise<void> {
  if (tokens === null) throw new Error('not signed in')
  const res = await raw('POST', '/api/v1/auth/refresh', { refresh_token: tokens.refresh_token }, false)
  setTokens(await parse<Tokens>(res))
}

function signOutLocally(reason: string): void {
  tokens = null
  clearTimeout(refreshTimer)
  onSignedOut(reason)
}

export async function signOut(): Promise<void> {
  if (tokens !== null) await raw('POST', '/api/v1/auth/logout', {}).catch(() => undefined)
  signOutLocally('Signed out.')
}

/** Calls the API; one silent refresh and retry when the access token has just expired. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let res = await raw(method, path, body)
  if (res.status === 401 && tokens !== null) {
    const e = await res
      .clone()
      .json()
      .catch(() => ({}))
    if (e?.error?.code === 'LUCID_ERR_2002') {
      await refresh().catch(() => undefined)
      res = await raw(method, path, body)
    }
    if (res.status === 401) {
      signOutLocally('Your session was revoked or expired; sign in again.')
      return parse<T>(res)
    }
  }
  return parse<T>(res)
}

export const get = <T>(path: string) => api<T>('GET', path)

/** Sign-in calls (no token yet). */
export async function publicCall<T>(path: string, body: unknown): Promise<T> {
  return parse<T>(await raw('POST', path, body, false))
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s === '' ? '' : `?${s}`
}
