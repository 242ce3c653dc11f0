/**
 * Issue 12 finding 4: anyone who knew an address could block its owner's email login: five wrong
 * codes killed the pending code, six login requests put the address behind a 900 s 429, and each
 * new code reset the wrong-try counter (25 guesses per 15 minutes). Now the send and wrong-code
 * limits are per client (IP; IPv6 by /64) and address, so a stranger only blocks themselves, and a
 * total guess budget per address (20 per hour) survives new codes. Numbers: README "Email login
 * limits", SECURITY.md. Real gateway; inject's remoteAddress gives each party its own client IP.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { lastCode, mailsTo } from '../helpers/outbox.js'

const STRANGER = '203.0.113.7'
const OWNER = '198.51.100.2'

describe('email login cannot be locked by a stranger', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp()
  })
  after(async () => t.close())

  let n = 0
  const address = () => `owner-${Date.now()}-${n++}@example.com`
  const post = (ip: string, url: string, payload: object) =>
    t.app.inject({ method: 'POST', url, payload, remoteAddress: ip })
  const sendCode = (ip: string, email: string) => post(ip, '/api/v1/auth/login', { email })
  const verify = (ip: string, email: string, code: string) => post(ip, '/api/v1/auth/verify', { email, code })
  const wrongFor = (code: string, i = 0) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0')

  test('a stranger flooding code requests is limited alone; the owner still gets and uses a code', async () => {
    const email = address()
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await sendCode(STRANGER, email)).statusCode)
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429], '3 per client per 15 minutes')
    const limited = await sendCode(STRANGER, email)
    assert.equal(limited.json().error.code, 'LUCID_ERR_3001')
    assert.ok(Number(limited.headers['retry-after']) > 0)

    const mine = await sendCode(OWNER, email)
    assert.equal(mine.statusCode, 200, mine.body)
    const res = await verify(OWNER, email, await lastCode(t.dataDir, email))
    assert.equal(res.statusCode, 200, res.body)
  })

  test("a stranger's wrong codes do not kill the owner's pending code", async () => {
    const email = address()
    assert.equal((await sendCode(OWNER, email)).statusCode, 200)
    const code = await lastCode(t.dataDir, email)
    for (let i = 0; i < 5; i++) {
      const res = await verify(STRANGER, email, wrongFor(code, i))
      assert.equal(res.json().error.code, 'LUCID_ERR_2006')
    }
    const sixth = await verify(STRANGER, email, code)
    assert.equal(sixth.statusCode, 429, 'the stranger is cut off, even with the right code')
    assert.equal(sixth.json().error.code, 'LUCID_ERR_3001')
    const res = await verify(OWNER, email, code)
    assert.equal(res.statusCode, 200, `the owner's code survived: ${res.body}`)
  })

  test('the total guess budget of an address is not reset by a new code; the magic link still works', async () => {
    const email = address()
    assert.equal((await sendCode(OWNER, email)).statusCode, 200)
    const first = await lastCode(t.dataDir, email)
    // 20 wrong codes from four clients, five each (each client's own limit).
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < 5; i++)
        assert.equal((await verify(`192.0.2.${10 + c}`, email, wrongFor(first, c * 5 + i))).statusCode, 401)
    }
    assert.equal(
      (await verify(OWNER, email, first)).statusCode,
      401,
      'budget spent: codes are refused, the right one too'
    )
    // A new code resets nothing (the old service deleted the counter here: 25 guesses per 15 minutes).
    assert.equal((await sendCode(OWNER, email)).statusCode, 200)
    const fresh = await lastCode(t.dataDir, email)
    const byCode = await verify(OWNER, email, fresh)
    assert.equal(byCode.statusCode, 401)
    assert.equal(byCode.json().error.code, 'LUCID_ERR_2006')
    // The owner holds the 256-bit link of that mail, which no guess budget applies to.
    const mails = await mailsTo(t.dataDir, email)
    const token = /token=([A-Za-z0-9_%-]+)/.exec(mails.at(-1)!.text)![1]
    const byLink = await post(OWNER, '/api/v1/auth/verify', { token: decodeURIComponent(token) })
    assert.equal(byLink.statusCode, 200, byLink.body)
  })
})
