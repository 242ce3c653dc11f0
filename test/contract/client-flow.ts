/**
 * What a client generated from /openapi.json does (issue 13): openapi-typescript types the paths,
 * openapi-fetch makes the calls. test/contract/client.test.ts regenerates `./generated/openapi.ts`
 * from the live document, type-checks this file against it (so the document must describe these
 * calls and answers exactly), then runs the flows over a real socket. Not in tsconfig.json: the
 * generated file exists only once the test made it.
 */
import createClient from 'openapi-fetch'
import type { paths } from './generated/openapi.js'

export type Client = ReturnType<typeof createClient<paths>>

export function client(baseUrl: string, token?: string): Client {
  return createClient<paths>({ baseUrl, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

/** Public operations, no login: versions, health, a wallet challenge. */
export async function loginFreeFlow(
  api: Client,
  tronAddress: string
): Promise<{ apiVersion: string; health: string; nonce: string; message: string }> {
  const version = await api.GET('/api/v1/meta/version')
  if (version.data === undefined) throw new Error(`meta/version: ${version.response.status}`)
  const health = await api.GET('/api/v1/meta/health')
  if (health.data === undefined) throw new Error(`meta/health: ${health.response.status}`)
  const challenge = await api.POST('/api/v1/auth/challenge', { body: { tron_address: tronAddress } })
  if (challenge.data === undefined) throw new Error(`auth/challenge: ${challenge.error?.error.code}`)
  const unknown = await api.GET('/api/v1/sessions/{session_id}', {
    params: { path: { session_id: '00000000-0000-4000-8000-000000000000' } }
  })
  if (unknown.error?.error.code !== 'LUCID_ERR_2001') throw new Error('an anonymous read of a session must be 401/2001')
  return {
    apiVersion: version.data.api_version,
    health: `${health.data.status}/${health.data.api_version}`,
    nonce: challenge.data.nonce,
    message: challenge.data.message
  }
}

/** Sign in with a wallet, then work as that user: profile, a recording session, logout. */
export async function authenticatedFlow(
  baseUrl: string,
  tronAddress: string,
  sign: (message: string) => string
): Promise<{ userId: string; username: string | null; sessions: number; afterLogout: number }> {
  const anonymous = client(baseUrl)
  const c = await anonymous.POST('/api/v1/auth/challenge', { body: { tron_address: tronAddress } })
  if (c.data === undefined) throw new Error('challenge failed')
  const login = await anonymous.POST('/api/v1/auth/login', {
    body: { tron_address: tronAddress, signature: sign(c.data.message), nonce: c.data.nonce, wallet_type: 'software' }
  })
  if (login.data === undefined || !('access_token' in login.data))
    throw new Error(`login failed: ${login.error?.error.message}`)
  const api = client(baseUrl, login.data.access_token)
  const me = await api.PUT('/api/v1/users/me', { body: { username: `client_${tronAddress.slice(1, 9)}` } })
  if (me.data === undefined) throw new Error(`users/me: ${me.error?.error.message}`)
  const created = await api.POST('/api/v1/sessions', { body: { name: 'from a generated client' } })
  if (created.data === undefined) throw new Error(`sessions: ${created.error?.error.message}`)
  const started = await api.POST('/api/v1/sessions/{session_id}/start', {
    params: { path: { session_id: created.data.session_id } }
  })
  if (started.data?.status !== 'active') throw new Error('start failed')
  // Defaults are optional: no page or limit needed.
  const list = await api.GET('/api/v1/sessions')
  if (list.data === undefined) throw new Error('list failed')
  const out = await api.POST('/api/v1/auth/logout')
  if (out.data === undefined) throw new Error(`logout: ${out.error?.error.message}`)
  const after = await api.GET('/api/v1/users/me')
  return {
    userId: me.data.user_id,
    username: me.data.username,
    sessions: list.data.pagination.total,
    afterLogout: after.response.status
  }
}
