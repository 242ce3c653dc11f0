/** What the benchmark scripts share: waiting for a server, and an access token from a wallet login. */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { addressFromPublicKey, signTip191 } from '../src/crypto/tron.js'

export { freePort } from '../test/helpers/throwaway.js'

/** Resolves once `url` answers below 500. */
export async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const r = await fetch(url)
      await r.arrayBuffer()
      if (r.status < 500) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} did not come up`)
}

/** An access token for a fresh wallet: challenge, TIP-191 signature, login. */
export async function walletToken(base: string): Promise<string> {
  const priv = secp256k1.utils.randomSecretKey()
  const address = addressFromPublicKey(secp256k1.getPublicKey(priv, false))
  const post = async (p: string, body: object) =>
    (await (
      await fetch(`${base}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
    ).json()) as Record<string, string | undefined>
  const c = await post('/api/v1/auth/challenge', { tron_address: address })
  const login = await post('/api/v1/auth/login', {
    tron_address: address,
    nonce: c.nonce,
    signature: signTip191(c.message ?? '', Buffer.from(priv).toString('hex'))
  })
  if (login.access_token === undefined) throw new Error(`bench login failed: ${JSON.stringify(login)}`)
  return login.access_token
}
