/** Prints an access token from a running gateway (for ad-hoc wrk and profiling): node --import tsx bench/token.ts http://127.0.0.1:8080 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { addressFromPublicKey, signTip191 } from '../src/crypto/tron.js'

const base = process.argv[2] ?? 'http://127.0.0.1:8080'
const priv = secp256k1.utils.randomSecretKey()
const address = addressFromPublicKey(secp256k1.getPublicKey(priv, false))
const post = async (p: string, body: object) =>
  (
    await fetch(`${base}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
  ).json() as Promise<Record<string, string>>
const c = await post('/api/v1/auth/challenge', { tron_address: address })
const l = await post('/api/v1/auth/login', {
  tron_address: address,
  nonce: c.nonce,
  signature: signTip191(c.message, Buffer.from(priv).toString('hex'))
})
console.log(l.access_token)
