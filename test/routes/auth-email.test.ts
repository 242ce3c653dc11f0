import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { extract, startSmtpSink, type SmtpSink } from '../helpers/smtp.js'

describe('email login over a real SMTP listener', () => {
  let t: TestApp
  let smtp: SmtpSink
  before(async () => {
    smtp = await startSmtpSink()
    t = await buildTestApp({
      env: { SMTP_URL: smtp.url, MAIL_FROM: 'Lucid <auth@lucid.test>', PUBLIC_URL: 'https://api.lucid.test' }
    })
  })
  after(async () => {
    await t.close()
    await smtp.close()
  })

  const post = (url: string, payload: object) => t.app.inject({ method: 'POST', url, payload })

  test('login {email} always answers the same, and mails a link and a 6-digit code', async () => {
    const email = `New.User+${Date.now()}@Example.com`
    const mailP = smtp.next(email)
    const res = await post('/api/v1/auth/login', { email })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().expires_in, 300)
    const mail = await mailP
    const { code, link } = extract(mail)
    assert.match(code, /^\d{6}$/)
    assert.ok(link.startsWith('https://api.lucid.test/api/v1/auth/magic?token='))
    assert.match(mail.raw, /From: Lucid <auth@lucid\.test>/)

    const verified = await post('/api/v1/auth/verify', { email, code })
    assert.equal(verified.statusCode, 200)
    assert.equal(verified.json().user.email, email.toLowerCase(), 'stored lower-cased')
    const reuse = await post('/api/v1/auth/verify', { email, code })
    assert.equal(reuse.statusCode, 401)
    assert.equal(reuse.json().error.code, 'LUCID_ERR_2006', 'a code works once')
  })

  test('the magic-link page does not consume the link; POSTing its token does, once', async () => {
    const email = `link-${Date.now()}@example.com`
    const mailP = smtp.next(email)
    await post('/api/v1/auth/login', { email })
    const { token } = extract(await mailP)
    const page = await t.app.inject({ url: `/api/v1/auth/magic?token=${token}` })
    assert.equal(page.statusCode, 200)
    assert.match(String(page.headers['content-type']), /text\/html/)
    assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-/)
    assert.ok(page.body.startsWith('<!doctype html>'), 'raw HTML, not a JSON string')
    assert.ok(page.body.includes(token))
    const first = await post('/api/v1/auth/verify', { token })
    assert.equal(first.statusCode, 200)
    assert.equal(first.json().user.email, email)
    const second = await post('/api/v1/auth/verify', { token })
    assert.equal(second.json().error.code, 'LUCID_ERR_2006')
  })

  test('five wrong codes cut that client off (429) without killing the code (issue 12)', async () => {
    const email = `guess-${Date.now()}@example.com`
    const mailP = smtp.next(email)
    await post('/api/v1/auth/login', { email })
    const { code } = extract(await mailP)
    const wrong = code === '000000' ? '111111' : '000000'
    for (let i = 0; i < 5; i++) {
      const res = await post('/api/v1/auth/verify', { email, code: wrong })
      assert.equal(res.json().error.code, 'LUCID_ERR_2006')
    }
    const blocked = await post('/api/v1/auth/verify', { email, code })
    assert.equal(blocked.statusCode, 429, 'this client is done guessing for 15 minutes')
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify',
      payload: { email, code },
      remoteAddress: '198.51.100.20'
    })
    assert.equal(elsewhere.statusCode, 200, 'the owner elsewhere still signs in')
  })

  test('requesting codes is limited per client and address', async () => {
    const email = `flood-${Date.now()}@example.com`
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await post('/api/v1/auth/login', { email })).statusCode)
    assert.deepEqual(statuses, [200, 200, 200, 429])
  })

  test('an unknown email and bad bodies get clear errors', async () => {
    assert.equal(
      (await post('/api/v1/auth/verify', { email: 'nobody@example.com', code: '123456' })).json().error.code,
      'LUCID_ERR_2006'
    )
    assert.equal((await post('/api/v1/auth/login', { email: 'not-an-email' })).statusCode, 422)
    assert.equal((await post('/api/v1/auth/verify', { email: 'a@example.com' })).statusCode, 422)
    assert.equal((await post('/api/v1/auth/verify', { code: '12345' })).statusCode, 422)
  })
})

test('without SMTP_URL the mail goes to the outbox under DATA_DIR', async () => {
  const t = await buildTestApp()
  try {
    const email = `outbox-${Date.now()}@example.com`
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email } })).statusCode,
      200
    )
    const lines = (await readFile(path.join(t.dataDir, 'outbox.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const mail = lines.find((l) => l.to === email)
    assert.ok(mail, 'mail is in the outbox')
    const code = /enter this code: (\d{6})/.exec(mail.text)?.[1]
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { email, code } })
    assert.equal(res.statusCode, 200)
  } finally {
    await t.close()
  }
})
