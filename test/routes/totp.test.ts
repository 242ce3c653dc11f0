import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { challenge, login } from '../helpers/identity.js'
import { generateTotp, newTotpSecret } from '../../src/crypto/totp.js'
import { Secret, TOTP } from 'otpauth'

describe('TOTP second factor', () => {
  let t: TestApp
  let clock = Date.UTC(2026, 10, 23, 12, 0, 0)
  before(async () => {
    t = await buildTestApp({ now: () => clock })
  })
  after(() => t.close())

  async function enrol() {
    const li = await login(t.app)
    const setup = await t.app.inject({ method: 'POST', url: '/api/v1/auth/totp/setup', headers: li.auth })
    assert.equal(setup.statusCode, 200)
    const { secret, otpauth_uri, qr_svg } = setup.json()
    assert.match(otpauth_uri, /^otpauth:\/\/totp\/Lucid:.+\?.*secret=/)
    assert.match(qr_svg, /^<svg[\s\S]*<\/svg>\s*$/)
    // An authenticator app, independent of the gateway's code, computes the codes.
    const app = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' })
    const code = app.generate({ timestamp: clock })
    const enable = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/totp/enable',
      headers: li.auth,
      payload: { code }
    })
    assert.equal(enable.statusCode, 200)
    assert.equal(enable.json().totp_enabled, true)
    return { li, secret, gen: (at: number) => app.generate({ timestamp: at }) }
  }

  async function walletAttempt(
    li: Awaited<ReturnType<typeof login>>,
    totp_code?: string,
    nonce?: { nonce: string; message: string }
  ) {
    const c = nonce ?? (await challenge(t.app, li.wallet.address))
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: {
        tron_address: li.wallet.address,
        signature: li.wallet.sign(c.message),
        nonce: c.nonce,
        ...(totp_code ? { totp_code } : {})
      }
    })
    return { res, c }
  }

  test('the secret is encrypted at rest with DATA_ENCRYPTION_KEY', async () => {
    const { li, secret } = await enrol()
    const { rows } = await t.app.db.query<{ totp_secret_enc: string }>(
      'SELECT totp_secret_enc FROM users WHERE user_id = $1',
      [li.userId]
    )
    assert.ok(rows[0].totp_secret_enc.startsWith('v1.'))
    assert.ok(!rows[0].totp_secret_enc.includes(secret))
  })

  test('login then needs the code in the same request; without it 2007 and the nonce stays usable', async () => {
    clock += 60_000
    const { li, gen } = await enrol()
    clock += 60_000
    const { res, c } = await walletAttempt(li)
    assert.equal(res.statusCode, 401)
    assert.equal(res.json().error.code, 'LUCID_ERR_2007')
    assert.equal(res.json().error.details.totp_required, true)
    const ok = await walletAttempt(li, gen(clock), c)
    assert.equal(ok.res.statusCode, 200, 'same nonce, now with the code')
    const replay = await walletAttempt(li, gen(clock))
    assert.equal(replay.res.json().error.code, 'LUCID_ERR_2007', 'a code is accepted once')
    clock += 30_000
    assert.equal((await walletAttempt(li, gen(clock))).res.statusCode, 200, 'the next step works')
    clock += 30_000
    assert.equal(
      (await walletAttempt(li, gen(clock - 30_000))).res.statusCode,
      401,
      'the previous step (within ±1) was already used'
    )
    assert.equal(
      (await walletAttempt(li, generateTotp(newTotpSecret(), clock))).res.statusCode,
      401,
      'a code from another secret fails'
    )
  })

  test('five wrong codes in a row lock the account for 30 minutes; an admin can unlock it', async () => {
    clock += 120_000
    const { li, gen } = await enrol()
    const wrong = (code: string) => (code === '000000' ? '111111' : '000000')
    let last
    for (let i = 0; i < 5; i++) last = (await walletAttempt(li, wrong(gen(clock)))).res
    assert.equal(last?.json().error.code, 'LUCID_ERR_2005')
    const locked = await walletAttempt(li, gen(clock))
    assert.equal(locked.res.json().error.code, 'LUCID_ERR_2005', 'even the right code is refused while locked')
    assert.equal(
      (await t.app.inject({ url: '/api/v1/users/me', headers: li.auth })).json().error.code,
      'LUCID_ERR_2005',
      'existing tokens stop working too'
    )
    const { rows } = await t.app.db.query<{ locked_until: Date }>('SELECT locked_until FROM users WHERE user_id = $1', [
      li.userId
    ])
    assert.ok(Math.abs(rows[0].locked_until.getTime() - Date.now() - 30 * 60_000) < 60_000)
    const admin = await login(t.app, { role: 'admin' })
    const unlock = await t.app.inject({ method: 'POST', url: `/api/v1/users/${li.userId}/unlock`, headers: admin.auth })
    assert.equal(unlock.statusCode, 200)
    clock += 30_000
    assert.equal((await walletAttempt(li, gen(clock))).res.statusCode, 200)
  })

  test('disable needs a valid code', async () => {
    clock += 120_000
    const { li, gen } = await enrol()
    clock += 30_000
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/totp/disable',
      headers: li.auth,
      payload: { code: '000000' === gen(clock) ? '111111' : '000000' }
    })
    assert.equal(bad.statusCode, 401)
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/totp/disable',
      headers: li.auth,
      payload: { code: gen(clock) }
    })
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.json().totp_enabled, false)
    assert.equal((await walletAttempt(li)).res.statusCode, 200)
  })
})
