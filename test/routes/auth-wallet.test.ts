import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { TronWeb } from 'tronweb'
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js'
import { challenge, login, newWallet } from '../helpers/identity.js'

/** Checks an HS256 JWT with node:crypto only, independently of the gateway's jose code. */
function decodeIndependently(token: string): Record<string, unknown> {
  const [h, p, s] = token.split('.')
  const expected = createHmac('sha256', Buffer.from(TEST_JWT_SECRET, 'utf8')).update(`${h}.${p}`).digest('base64url')
  assert.equal(s, expected, 'signature verifies with the raw secret')
  assert.equal(JSON.parse(Buffer.from(h, 'base64url').toString()).alg, 'HS256')
  return JSON.parse(Buffer.from(p, 'base64url').toString())
}

describe('wallet login (TIP-191)', () => {
  let t: TestApp
  let clock = Date.now()
  let bootstrapWallet: Awaited<ReturnType<typeof newWallet>>
  before(async () => {
    bootstrapWallet = await newWallet()
    t = await buildTestApp({ now: () => clock, env: { BOOTSTRAP_SUPER_ADMINS: bootstrapWallet.address } })
  })
  after(() => t.close())

  test('a challenge names the gateway, the address, the nonce and the expiry', async () => {
    const w = await newWallet()
    const c = await challenge(t.app, w.address)
    assert.match(c.nonce, /^[0-9a-f]{32}$/, '128-bit nonce')
    assert.ok(
      c.message.includes('Lucid API Gateway') &&
        c.message.includes(w.address) &&
        c.message.includes(c.nonce) &&
        c.message.includes(c.expires_at)
    )
    assert.equal(Date.parse(c.expires_at) - clock, 5 * 60_000)
  })

  test('an invalid address is refused with 422', async () => {
    const w = await newWallet()
    const broken = w.address.slice(0, 33) + (w.address[33] === 'a' ? 'b' : 'a')
    for (const tron_address of [broken, 'T123', '0x' + 'a'.repeat(40)]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { tron_address } })
      assert.equal(res.statusCode, 422, tron_address)
      assert.equal(res.json().error.code, 'LUCID_ERR_1001')
    }
  })

  test('TronWeb signMessageV2 logs in, creates the account once, and the tokens carry the contract claims', async () => {
    const first = await login(t.app)
    assert.equal(first.body.token_type, 'Bearer')
    assert.equal(first.body.expires_in, 900)
    const user = first.body.user as Record<string, unknown>
    assert.equal(user.tron_address, first.wallet.address)
    assert.equal(user.role, 'user')
    assert.equal(user.wallet_type, 'software')
    const claims = decodeIndependently(first.access)
    assert.equal(claims.iss, 'lucid-api-gateway')
    assert.equal(claims.aud, 'lucid-blockchain')
    assert.equal(claims.sub, first.userId)
    assert.equal(claims.role, 'user')
    assert.equal(claims.type, 'access')
    assert.equal((claims.exp as number) - (claims.iat as number), 900)
    const refresh = decodeIndependently(first.refresh)
    assert.equal(refresh.type, 'refresh')
    assert.equal(refresh.sid, claims.sid)
    assert.equal((refresh.exp as number) - (refresh.iat as number), 7 * 86_400)
    const again = await login(t.app, { wallet: first.wallet })
    assert.equal(again.userId, first.userId, 'second login finds the same account')
    const { rows } = await t.app.db.query<{ n: number }>('SELECT count(*) AS n FROM users WHERE tron_address = $1', [
      first.wallet.address
    ])
    assert.equal(rows[0].n, 1)
    const me = await t.app.inject({ url: '/api/v1/users/me', headers: first.auth })
    assert.equal(me.statusCode, 200)
    assert.equal(me.json().user_id, first.userId)
  })

  test("TronWeb's legacy fixed-header signMessage over the message bytes is accepted too", async () => {
    const w = await newWallet()
    const tw = new TronWeb({ fullHost: 'http://127.0.0.1:9', privateKey: w.privateKey })
    const c = await challenge(t.app, w.address)
    const signature = (await tw.trx.sign(Buffer.from(c.message).toString('hex'))) as string
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tron_address: w.address, signature, nonce: c.nonce }
    })
    assert.equal(res.statusCode, 200)
  })

  test('hardware wallets sign the same message; wallet_type is recorded on the user', async () => {
    for (const wallet_type of ['ledger', 'trezor', 'keepkey']) {
      const li = await login(t.app, { extra: { wallet_type } })
      const user = li.body.user as Record<string, unknown>
      assert.equal(user.wallet_type, wallet_type)
      assert.equal(user.hardware_wallet_enabled, true)
    }
  })

  test('v as 0/1 and signatures without 0x are accepted', async () => {
    const w = await newWallet()
    const c = await challenge(t.app, w.address)
    const sig = w.sign(c.message).replace(/^0x/, '')
    const v = parseInt(sig.slice(128), 16) - 27
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: {
        tron_address: w.address,
        signature: sig.slice(0, 128) + v.toString(16).padStart(2, '0'),
        nonce: c.nonce
      }
    })
    assert.equal(res.statusCode, 200)
  })

  test('replayed, expired, foreign and unknown nonces are refused with 2009', async () => {
    const w = await newWallet()
    const c = await challenge(t.app, w.address)
    const payload = { tron_address: w.address, signature: w.sign(c.message), nonce: c.nonce }
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload })).statusCode, 200)
    const replay = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload })
    assert.equal(replay.statusCode, 401)
    assert.equal(replay.json().error.code, 'LUCID_ERR_2009')

    const other = await newWallet()
    const c2 = await challenge(t.app, other.address)
    const foreign = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tron_address: w.address, signature: w.sign(c2.message), nonce: c2.nonce }
    })
    assert.equal(foreign.json().error.code, 'LUCID_ERR_2009')

    const c3 = await challenge(t.app, w.address)
    clock += 5 * 60_000 + 1
    const expired = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tron_address: w.address, signature: w.sign(c3.message), nonce: c3.nonce }
    })
    clock = Date.now()
    assert.equal(expired.statusCode, 401)
    assert.equal(expired.json().error.code, 'LUCID_ERR_2009')

    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tron_address: w.address, signature: w.sign(c3.message), nonce: 'f'.repeat(32) }
    })
    assert.equal(unknown.json().error.code, 'LUCID_ERR_2009')
  })

  test('a signature by another key or a malformed one → 401/2008, and failures never lock the owner out', async () => {
    const owner = await newWallet()
    const attacker = await newWallet()
    for (let i = 0; i < 8; i++) {
      const c = await challenge(t.app, owner.address)
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { tron_address: owner.address, signature: attacker.sign(c.message), nonce: c.nonce }
      })
      assert.equal(res.statusCode, 401)
      assert.equal(res.json().error.code, 'LUCID_ERR_2008')
    }
    for (const signature of ['0x1234', 'zz'.repeat(65), '0x' + 'ab'.repeat(64) + '05']) {
      const c = await challenge(t.app, owner.address)
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { tron_address: owner.address, signature, nonce: c.nonce }
      })
      assert.equal(res.statusCode, 401, signature)
      assert.equal(res.json().error.code, 'LUCID_ERR_2008')
    }
    const ok = await login(t.app, { wallet: owner })
    assert.equal((ok.body.user as Record<string, unknown>).status, 'active')
    const { rows } = await t.app.db.query<{ n: number }>(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.signature_failure' AND target_id = $1",
      [owner.address]
    )
    assert.equal(rows[0].n, 8, 'failed signatures are recorded')
  })

  test('an address in BOOTSTRAP_SUPER_ADMINS becomes super_admin on first login', async () => {
    const li = await login(t.app, { wallet: bootstrapWallet })
    assert.equal((li.body.user as Record<string, unknown>).role, 'super_admin')
  })

  test('missing wallet fields get field-level validation errors', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tron_address: bootstrapWallet.address }
    })
    assert.equal(res.statusCode, 422)
    const fields = res
      .json()
      .error.details.validation_errors.map((v: { field: string }) => v.field)
      .sort()
    assert.deepEqual(fields, ['nonce', 'signature'])
  })
})
