/**
 * Issue 12 finding 9: POST /users/me/email answered 409 for an address another account uses, and
 * /auth/verify worded its error differently when a code was pending, so both told a prober
 * whether an address exists. Now /users/me/email answers the same either way (the taken address
 * gets a notice mail instead of a code), and every failed /auth/verify by code is the same 2006.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { lastCode, mailsTo } from '../helpers/outbox.js'

describe('answers that do not reveal whether an email address exists', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp()
  })
  after(async () => t.close())

  let n = 0
  const address = (what: string) => `${what}-${Date.now()}-${n++}@example.com`
  /** An account holding `email`, created by an email login. */
  async function registered(email: string): Promise<string> {
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email } })).statusCode,
      200
    )
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify',
      payload: { email, code: await lastCode(t.dataDir, email) }
    })
    assert.equal(res.statusCode, 200, res.body)
    return res.json().user.user_id
  }
  const shape = (res: { statusCode: number; json(): Record<string, unknown> }) => ({
    status: res.statusCode,
    body: res.json()
  })

  test('POST /users/me/email answers the same for a taken and a free address; the taken one gets a notice', async () => {
    const taken = address('taken')
    const ownerId = await registered(taken)
    const free = address('free')
    const prober = await login(t.app)
    const link = (email: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/users/me/email', headers: prober.auth, payload: { email } })
    const a = shape(await link(taken))
    const b = shape(await link(free))
    assert.deepEqual(a, b)
    assert.equal(a.status, 200)

    const notice = (await mailsTo(t.dataDir, taken)).at(-1)!
    assert.doesNotMatch(notice.text, /\b\d{6}\b/, 'no code for the taken address')
    assert.match(notice.text, /already belongs to an account/)
    assert.match((await mailsTo(t.dataDir, free)).at(-1)!.text, /enter this code: \d{6}/)
    const me = await t.app.inject({ url: '/api/v1/users/me', headers: prober.auth })
    assert.equal(me.json().email, null, "the prober's account did not get the address")
    const owner = (await t.app.db.query<{ email: string }>('SELECT email FROM users WHERE user_id = $1', [ownerId]))
      .rows[0]
    assert.equal(owner.email, taken)
  })

  test('every failed /auth/verify by code is worded the same, pending code or not, account or not', async () => {
    const withCode = address('pending')
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: withCode } })).statusCode,
      200
    )
    const code = await lastCode(t.dataDir, withCode)
    const wrong = code === '000000' ? '111111' : '000000'
    const existing = address('exists')
    await registered(existing)
    const used = address('used')
    await registered(used)
    const verify = (email: string, c: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { email, code: c } })
    const answers = [
      await verify(address('nobody'), '123456'), // no account, no code
      await verify(existing, '123456'), // account, no code pending
      await verify(withCode, wrong), // code pending, wrong code
      await verify(used, '123456') // its code was used
    ].map((res) => {
      const { code: c, message, details } = res.json().error
      return { status: res.statusCode, code: c, message, details }
    })
    for (const a of answers) assert.deepEqual(a, answers[0])
    assert.equal(answers[0].code, 'LUCID_ERR_2006')
  })
})
