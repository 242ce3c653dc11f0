import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { launchBrowser } from '../helpers/browser.js'

// Issue 13: Swagger UI's Authorize did nothing because operations declared no security.
test('Swagger UI at /docs: Authorize with a token, "Try it out" on GET /api/v1/users/me, 200', async (t) => {
  const browser = await launchBrowser(t)
  if (browser === null) return
  const gw = await buildTestApp()
  t.after(async () => {
    await browser.close()
    await gw.close()
  })
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(gw.app.server.address() as { port: number }).port}`
  const user = await login(gw.app)
  const page = await browser.context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })

  await page.goto(`${base}/docs/`)
  const op = page.locator('#operations-users-getUsersMe')
  await op.waitFor({ timeout: 60_000 })
  await page.locator('button.authorize').first().click()
  const dialog = page.locator('.dialog-ux')
  await dialog.locator('input[aria-label="auth-bearer-value"]').fill(user.access)
  await dialog.locator('button.authorize').first().click()
  await dialog.locator('button.btn-done').first().click()

  await op.locator('.opblock-summary').first().click()
  await op.locator('button.try-out__btn').click()
  const answered = page.waitForResponse((r) => r.url() === `${base}/api/v1/users/me`)
  await op.locator('button.execute').click()
  const res = await answered
  assert.equal(res.status(), 200)
  assert.equal(res.request().headers().authorization, `Bearer ${user.access}`, 'Swagger UI sent the token it was given')
  const status = op.locator('.live-responses-table tbody .response-col_status').first()
  await status.waitFor()
  assert.equal((await status.innerText()).trim(), '200')
  assert.match(
    await op.locator('.live-responses-table tbody .response-col_description').first().innerText(),
    new RegExp(user.userId)
  )
  // SWAGGER_SCREENSHOT=file.png keeps a picture of the executed operation for a person to look at.
  await op.screenshot({ path: process.env.SWAGGER_SCREENSHOT ?? path.join(gw.dataDir, 'swagger-ui.png') })
  assert.deepEqual(
    problems.filter((p) => !/favicon/.test(p)),
    [],
    'no script errors or CSP violations'
  )
})
