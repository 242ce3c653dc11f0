import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { extract, startSmtpSink, type SmtpSink } from '../helpers/smtp.js'
import { launchBrowser } from '../helpers/browser.js'

// Issue 13, defect 5: the default magic link, opened from a mail client (no window.opener), must
// not spend the single-use link for nothing; broken links get a page a person can read.
describe('the magic-link page', () => {
  let t: TestApp
  let smtp: SmtpSink
  let base: string
  let app: http.Server
  const returned: string[] = []
  let appUrl: string
  before(async () => {
    smtp = await startSmtpSink()
    // The app's return page: it only records that it was reached (the tokens stay in the fragment).
    app = http.createServer((req, res) => {
      returned.push(req.url ?? '')
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>signed in</p>')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}/signed-in`
    t = await buildTestApp({ env: { SMTP_URL: smtp.url } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
  })
  after(async () => {
    await t.close()
    await smtp.close()
    await new Promise<void>((resolve) => app.close(() => resolve()))
  })

  async function mailedLink(app: TestApp = t): Promise<{ token: string; code: string; email: string }> {
    const email = `magic-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`
    const mail = smtp.next(email)
    assert.equal(
      (await app.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email } })).statusCode,
      200
    )
    const { token, code } = extract(await mail)
    return { token, code, email }
  }

  test('a truncated, missing or expired link gets a readable HTML page, not JSON', async () => {
    const { token, code, email } = await mailedLink()
    for (const url of [
      `/api/v1/auth/magic?token=${token.slice(0, 10)}`,
      '/api/v1/auth/magic',
      `/api/v1/auth/magic?token=${token}%22%3E`
    ]) {
      const res = await t.app.inject({ url })
      assert.equal(res.statusCode, 400, url)
      assert.match(String(res.headers['content-type']), /^text\/html/)
      assert.match(res.body, /incomplete/)
    }
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { email, code } })).statusCode,
      200
    )
    const used = await t.app.inject({ url: `/api/v1/auth/magic?token=${token}` })
    assert.equal(used.statusCode, 410)
    assert.match(String(used.headers['content-type']), /^text\/html/)
    assert.match(used.body, /expired or was already used/)
    assert.ok(!used.body.includes(token), 'a dead token is not echoed')
  })

  test('in a browser', async (tc) => {
    const browser = await launchBrowser(tc)
    if (browser === null) return
    tc.after(() => browser.close())

    await tc.test(
      'opened from a mail client (no opener): it asks for the code and leaves the link unused',
      async () => {
        const { token, code, email } = await mailedLink()
        const page = await browser.context.newPage()
        await page.goto(`${base}/api/v1/auth/magic?token=${token}`)
        assert.ok(await page.locator('#code-hint').isVisible(), 'the page tells the person to enter the code')
        assert.match(await page.locator('#code-hint').innerText(), /6-digit code/)
        assert.equal(await page.locator('#go').isVisible(), false, 'no button that would spend the link for nothing')
        await page.close()
        assert.equal(await t.app.services.auth.magicLinkUsable(token), true, 'the link was not used')
        const verified = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { email, code } })
        assert.equal(verified.statusCode, 200, 'and the code works in the app')
      }
    )

    await tc.test(
      'opened by the app (window.opener, same origin): the button signs in and hands the tokens over',
      async () => {
        const { token } = await mailedLink()
        const appPage = await browser.context.newPage()
        await appPage.goto(`${base}/health`)
        const popupP = appPage.waitForEvent('popup')
        // Browser-side code as text: the test is compiled without the DOM library.
        const link = JSON.stringify(`${base}/api/v1/auth/magic?token=${token}`)
        await appPage.evaluate(
          `window.received = new Promise((resolve) => window.addEventListener('message', (e) => resolve(e.data))); window.open(${link})`
        )
        const popup = await popupP
        await popup.waitForLoadState()
        await popup.locator('#go').click()
        const data = (await appPage.evaluate('window.received')) as { type: string; tokens: { access_token: string } }
        assert.equal(data.type, 'lucid-login')
        const me = await t.app.inject({
          url: '/api/v1/users/me',
          headers: { authorization: `Bearer ${data.tokens.access_token}` }
        })
        assert.equal(me.statusCode, 200)
        assert.match(await popup.locator('#out').innerText(), /Signed in as/)
        assert.equal(await t.app.services.auth.magicLinkUsable(token), false, 'now the link is spent')
      }
    )

    await tc.test(
      'with MAGIC_LINK_RETURN_URL the page signs in and sends the tokens to the app in the URL fragment',
      async () => {
        const withReturn = await buildTestApp({ env: { SMTP_URL: smtp.url, MAGIC_LINK_RETURN_URL: appUrl } })
        tc.after(() => withReturn.close())
        await withReturn.app.listen({ port: 0, host: '127.0.0.1' })
        const origin = `http://127.0.0.1:${(withReturn.app.server.address() as { port: number }).port}`
        const { token } = await mailedLink(withReturn)
        const page = await browser.context.newPage()
        await page.goto(`${origin}/api/v1/auth/magic?token=${token}`)
        await page.locator('#go').click()
        await page.waitForURL(/\/signed-in#/)
        const fragment = new URLSearchParams(new URL(page.url()).hash.slice(1))
        assert.equal(fragment.get('token_type'), 'Bearer')
        assert.ok(returned.includes('/signed-in'), 'the browser reached the app')
        assert.ok(
          returned.every((u) => !u.includes('token')),
          'the tokens never reach the app server: only the fragment has them'
        )
        const me = await withReturn.app.inject({
          url: '/api/v1/users/me',
          headers: { authorization: `Bearer ${fragment.get('access_token')}` }
        })
        assert.equal(me.statusCode, 200)
        assert.equal(
          (
            await withReturn.app.inject({
              method: 'POST',
              url: '/api/v1/auth/refresh',
              payload: { refresh_token: fragment.get('refresh_token') }
            })
          ).statusCode,
          200
        )
      }
    )
  })
})
