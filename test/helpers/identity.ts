import { TronWeb } from 'tronweb'
import type { FastifyInstance } from 'fastify'

export interface Wallet {
  address: string
  privateKey: string
  /** Signs like TronLink / TronWeb (TIP-191 signMessageV2). */
  sign(message: string): string
}

export async function newWallet(): Promise<Wallet> {
  const acct = await TronWeb.createAccount()
  // No network is touched: signing is local.
  const tw = new TronWeb({ fullHost: 'http://127.0.0.1:9', privateKey: acct.privateKey })
  return { address: acct.address.base58, privateKey: acct.privateKey, sign: (m) => tw.trx.signMessageV2(m) }
}

export interface LoggedIn {
  wallet: Wallet
  access: string
  refresh: string
  userId: string
  body: Record<string, unknown>
  auth: { authorization: string }
}

export async function challenge(
  app: FastifyInstance,
  address: string
): Promise<{ nonce: string; message: string; expires_at: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { tron_address: address } })
  if (res.statusCode !== 200) throw new Error(`challenge failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Full wallet login through the HTTP API; `role` is then set directly in the database. */
export async function login(
  app: FastifyInstance,
  opts: { wallet?: Wallet; role?: string; extra?: Record<string, unknown> } = {}
): Promise<LoggedIn> {
  const wallet = opts.wallet ?? (await newWallet())
  const c = await challenge(app, wallet.address)
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { tron_address: wallet.address, signature: wallet.sign(c.message), nonce: c.nonce, ...opts.extra }
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  if (opts.role !== undefined) {
    await app.db.query('UPDATE users SET role = $2, updated_at = now() WHERE user_id = $1', [
      body.user.user_id,
      opts.role
    ])
    await app.identity.userChanged(body.user.user_id)
  }
  return {
    wallet,
    access: body.access_token,
    refresh: body.refresh_token,
    userId: body.user.user_id,
    body,
    auth: { authorization: `Bearer ${body.access_token}` }
  }
}
