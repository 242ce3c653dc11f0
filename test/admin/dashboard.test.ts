/**
 * The operator dashboard in real headless Chromium (issue 18), against a gateway with real
 * upstreams (stand-ins on loopback), a real SMTP listener, and PostgreSQL + Redis when
 * DATABASE_URL/REDIS_URL are set. Every action goes through the page, as an operator would click.
 * Screenshots of each view go to test-output/admin/ (ignored by git).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, newWallet, type Wallet } from '../helpers/identity.js'
import { extract, startSmtpSink, type SmtpSink } from '../helpers/smtp.js'
import { ensureAdminBundle } from '../helpers/admin-bundle.js'
import { launchBrowser, type Browser } from '../helpers/browser.js'
import { startEchoServer, startLucidBlocks, type StandIn } from '../support/stand-ins.js'
import { ADMIN_CSP } from '../../src/plugins/http-hygiene.js'

const SHOTS = path.resolve('test-output/admin')
const OPERATOR_EMAIL = 'ops@lucid.test'

interface Stand {
  t: TestApp
  origin: string
  smtp: SmtpSink
  echo: StandIn
  chain: StandIn
  operatorId: string
}

async function stand(extraEnv: Record<string, string> = {}): Promise<Stand> {
  await ensureAdminBundle()
  await mkdir(SHOTS, { recursive: true })
  const smtp = await startSmtpSink()
  const echo = await startEchoServer({ name: 'node_management' })
  const chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
  const t = await buildTestApp({
    env: {
      SMTP_URL: smtp.url,
      NODE_SERVICE_URL: echo.url,
      BLOCKCHAIN_CORE_URL: chain.url,
      UPSTREAM_BREAKER_FAILURES: '3',
      ...extraEnv
    }
  })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
  // The operator's account exists (first email login) and was made super_admin.
  const mail = smtp.next(OPERATOR_EMAIL)
  await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: OPERATOR_EMAIL } })
  const verified = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/verify',
    payload: { email: OPERATOR_EMAIL, code: extract(await mail).code }
  })
  const operatorId = verified.json().user.user_id as string
  await t.app.db.query("UPDATE users SET role = 'super_admin' WHERE user_id = $1", [operatorId])
  await t.app.identity.userChanged(operatorId)
  return { t, origin, smtp, echo, chain, operatorId }
}

/** Records every request the page makes and every CSP violation it reports. */
function watch(page: Page): { requests: string[]; violations: string[] } {
  const requests: string[] = []
  const violations: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|csp-violation/i.test(m.text())) violations.push(m.text())
  })
  // Runs in the page (a string: the tests are compiled without the DOM library).
  void page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => " +
      "console.error('csp-violation ' + e.violatedDirective + ' ' + e.blockedURI))"
  )
  return { requests, violations }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

/** Wallet in the page as TronLink exposes it, its signMessageV2 backed by real TronWeb signing. */
async function injectWallet(page: Page, wallet: Wallet): Promise<void> {
  await page.exposeFunction('lucidTestSign', (message: string) => wallet.sign(message))
  await page.addInitScript(
    `window.tronWeb = { defaultAddress: { base58: ${JSON.stringify(wallet.address)} }, ` +
      'trx: { signMessageV2: (m) => window.lucidTestSign(m) } }'
  )
}

/** Polls from the test (the page's CSP forbids the eval that page.waitForFunction(string) needs). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const statValue = (page: Page, id: string) => page.locator(`[data-stat="${id}"] .stat-value`).innerText()
const numberIn = (text: string) => Number(text.replace(/[^0-9.]/g, ''))

test('operator dashboard in headless Chromium', async (t) => {
  const s = await stand()
  let browser: Browser | null = null
  try {
    browser = await launchBrowser(t)
    if (browser === null) return
    const page = await browser.context.newPage()
    page.setDefaultTimeout(15_000)
    const seen = watch(page)

    await t.test(
      'a super_admin signs in with the code from the email; the page has its CSP and stays on its origin',
      async () => {
        const res = await page.goto(`${s.origin}/admin`)
        assert.equal(res?.status(), 200)
        assert.equal(res?.headers()['content-security-policy'], ADMIN_CSP)
        await shot(page, 'sign-in')
        await page.getByLabel('Email', { exact: true }).fill(OPERATOR_EMAIL)
        const mail = s.smtp.next(OPERATOR_EMAIL)
        await page.getByRole('button', { name: 'Email me a code' }).click()
        const { code } = extract(await mail)
        await page.getByLabel('Code from the email').fill(code)
        await page.getByRole('button', { name: 'Sign in', exact: true }).click()
        await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
        await page.locator('[data-stat="requests"]').waitFor()
        assert.equal(await page.locator('.who .badge').innerText(), 'super_admin')
        // Tokens are kept in memory only.
        const stored = await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')
        assert.deepEqual(stored, [0, 0, ''])
      }
    )

    await t.test('sending traffic moves the overview numbers without a reload', async () => {
      const before = numberIn(await statValue(page, 'requests'))
      for (let i = 0; i < 120; i++) await fetch(`${s.origin}/api/v1/meta/version`).then((r) => r.arrayBuffer())
      for (let i = 0; i < 15; i++) await fetch(`${s.origin}/api/v1/no-such-route-${i}`).then((r) => r.arrayBuffer())
      await until(
        'the overview counts the new requests',
        async () => numberIn(await statValue(page, 'requests')) >= before + 135
      )
      const codes = page.locator('#overview-codes')
      await codes.getByText('LUCID_ERR_4001').waitFor({ timeout: 10_000 })
      assert.match(await page.locator('#overview-routes').innerText(), /GET \/api\/v1\/meta\/version/)
      assert.ok(numberIn(await statValue(page, 'rps')) > 0)
      await page.locator('#overview-deps').getByText('database').waitFor()
      await page.waitForTimeout(300)
      await shot(page, 'overview')
    })

    await t.test('stopping the upstream opens its breaker on the Upstreams view', async () => {
      const user = await login(s.t.app)
      assert.equal((await fetch(`${s.origin}/api/v1/nodes/ping`, { headers: user.auth })).status, 200)
      await page.getByRole('link', { name: 'Upstreams' }).click()
      const state = page.locator(`[data-breaker="node_management ${s.echo.url}"]`)
      assert.equal(await state.innerText(), 'closed')
      await s.echo.close()
      for (let i = 0; i < 4; i++)
        await fetch(`${s.origin}/api/v1/nodes/ping`, { headers: user.auth }).then((r) => r.arrayBuffer())
      await until('the breaker shows open', async () => (await state.innerText()) === 'open')
      assert.match(await page.locator('#upstreams-list').innerText(), /closed → open/)
      await shot(page, 'upstreams')
    })

    await t.test(
      "revoking a user's session in the page makes that user's next API call refused, audited like the API call",
      async () => {
        const victim = await login(s.t.app)
        assert.equal((await fetch(`${s.origin}/api/v1/users/me`, { headers: victim.auth })).status, 200)
        const sid = (await s.t.app.repos.authSessions.listActiveForUser(victim.userId))[0].session_id
        await page.getByRole('link', { name: 'Identity' }).click()
        await page.getByLabel('Search', { exact: true }).fill(victim.wallet.address)
        await page.getByRole('button', { name: 'Search' }).click()
        await page.locator(`[data-key="open-${victim.userId}"]`).click()
        await page.locator(`[data-key="revoke-${sid}"]`).click()
        const dialog = page.getByRole('dialog')
        await dialog.waitFor()
        const text = await dialog.innerText()
        assert.match(text, new RegExp(`${sid.slice(0, 8)}.*${victim.wallet.address}`, 's'))
        assert.match(text, /refused on every instance/)
        await shot(page, 'identity-confirm')
        await dialog.getByRole('button', { name: 'Revoke session' }).click()
        await page.getByText(`Session ${sid.slice(0, 8)} revoked.`).waitFor()
        const refused = await fetch(`${s.origin}/api/v1/users/me`, { headers: victim.auth })
        assert.equal(refused.status, 401)
        assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'LUCID_ERR_2003')
        const { rows } = await s.t.app.db.query<{ actor_id: string; actor_role: string }>(
          "SELECT actor_id::text, actor_role FROM audit_log WHERE action = 'auth.session_revoked' AND target_id = $1",
          [sid]
        )
        assert.deepEqual(rows, [{ actor_id: s.operatorId, actor_role: 'super_admin' }])
        await shot(page, 'identity')
      }
    )

    await t.test(
      'limits, backups, chain, configuration and audit views show live data; a backup is made and verified',
      async () => {
        await page.getByRole('link', { name: 'Limits' }).click()
        await page.locator('#limits-rules').getByText('chain_blocks').waitFor()
        await page.getByRole('textbox', { name: 'Identity' }).fill('ip:127.0.0.1')
        await page.getByRole('button', { name: 'Inspect' }).first().click()
        await page.getByRole('heading', { name: 'State of ip:127.0.0.1' }).waitFor()
        await shot(page, 'limits')

        await page.getByRole('link', { name: 'Backups & storage' }).click()
        await page.locator('[data-stat="db-size"]').waitFor()
        await page.getByRole('button', { name: 'Create a backup' }).click()
        await page.getByRole('dialog').getByRole('button', { name: 'Start backup' }).click()
        const verify = page.locator('#backups-list').getByRole('button', { name: 'Verify' })
        await verify.first().waitFor({ timeout: 30_000 })
        await verify.first().click()
        await page.getByRole('dialog').getByRole('button', { name: 'Verify backup' }).click()
        await page.getByText(/Backup dashboard-.* is intact/).waitFor({ timeout: 30_000 })
        const audited = await s.t.app.db.query<{ action: string }>(
          `SELECT action FROM audit_log WHERE actor_id = $1 AND action IN ('backup.requested', 'backup.verified')
            ORDER BY audit_id`,
          [s.operatorId]
        )
        assert.deepEqual(
          audited.rows.map((r) => r.action),
          ['backup.requested', 'backup.verified']
        )
        await page.locator('#volumes-list').getByText('backups').waitFor()
        await shot(page, 'backups')

        await s.t.app.services.chain.sync.run()
        await page.getByRole('link', { name: 'Chain' }).click()
        await page.locator('[data-stat="lag"] .stat-value').getByText('0 blocks').waitFor({ timeout: 10_000 })
        await shot(page, 'chain')

        await page.getByRole('link', { name: 'Configuration' }).click()
        await page.locator('#config-list').getByText('JWT_SECRET_KEY', { exact: true }).waitFor()
        const config = await page.locator('#config-list').innerText()
        assert.ok(!config.includes(s.t.config.jwtSecretKey as string), 'the JWT secret is shown')
        assert.match(config, /JWT_SECRET_KEY\s+\*\*\*/)
        await shot(page, 'config')
      }
    )

    await t.test('audit: the chain verifies; after tampering, the first broken entry is highlighted', async () => {
      await page.getByRole('link', { name: 'Audit' }).click()
      await page.locator('#audit-root-hash').waitFor()
      await page.getByRole('button', { name: 'Verify the chain' }).click()
      await page.getByText(/Chain intact/).waitFor()
      const { rows } = await s.t.app.db.query<{ audit_id: string }>(
        "SELECT audit_id FROM audit_log WHERE action = 'auth.session_revoked' ORDER BY audit_id LIMIT 1"
      )
      const id = Number(rows[0].audit_id)
      await s.t.app.db.query(`UPDATE audit_log SET details = '{"forged": true}'::jsonb WHERE audit_id = $1`, [id])
      await page.getByRole('button', { name: 'Verify the chain' }).click()
      await page.getByText(`Chain broken at entry #${id}`).waitFor()
      const broken = page.locator('tr.broken')
      await broken.waitFor()
      assert.match(await broken.innerText(), new RegExp(`^${id}\\s`))
      await shot(page, 'audit')
    })

    await t.test('at 390 px wide every view is readable without sideways scrolling', async () => {
      await page.setViewportSize({ width: 390, height: 844 })
      for (const view of ['overview', 'upstreams', 'limits', 'identity', 'audit', 'backups', 'chain', 'config']) {
        await page.goto(`${s.origin}/admin#/${view}`).catch(() => undefined)
        await page
          .locator('.updated')
          .getByText(/Updated/)
          .waitFor({ timeout: 15_000 })
          .catch(() => undefined)
        const overflow = (await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth'
        )) as number
        assert.ok(overflow <= 1, `${view} overflows by ${overflow} px at 390 px`)
        if (view === 'overview' || view === 'upstreams')
          await page.screenshot({ path: path.join(SHOTS, `${view}-390.png`) })
      }
      await page.setViewportSize({ width: 1280, height: 900 })
    })

    await t.test('every request of the page went to the gateway itself, and the CSP was never violated', () => {
      assert.ok(seen.requests.length > 20)
      const foreign = seen.requests.filter((u) => !u.startsWith(`${s.origin}/`))
      assert.deepEqual(foreign, [])
      assert.deepEqual(seen.violations, [])
    })
  } finally {
    await browser?.close()
    await s.t.close()
    await s.smtp.close()
    await s.echo.close().catch(() => undefined)
    await s.chain.close()
  }
})

test('wallet sign-in: a user gets "not an operator"; an admin sees no actions, a forged action gets 403', async (t) => {
  // Access tokens live 30 s here, so the page must renew its token silently while the admin works.
  const s = await stand({ ACCESS_TOKEN_TTL_S: '30' })
  const browsers: Browser[] = []
  try {
    const userWallet = await newWallet()
    const b1 = await launchBrowser(t)
    if (b1 === null) return
    browsers.push(b1)
    const page = await b1.context.newPage()
    page.setDefaultTimeout(15_000)
    const seen = watch(page)
    await injectWallet(page, userWallet)
    await page.goto(`${s.origin}/admin`)
    await page.getByRole('button', { name: 'Sign in with TRON wallet' }).click()
    await page.getByRole('heading', { name: 'Not an operator' }).waitFor()
    assert.match(await page.getByRole('alert').innerText(), new RegExp(`${userWallet.address} with the role "user"`))
    assert.equal(await page.getByRole('link', { name: 'Overview' }).count(), 0)
    await shot(page, 'not-an-operator')
    // The signature was real: the account exists, signed in by its address.
    assert.notEqual(await s.t.app.repos.users.findByAddress(userWallet.address), null)
    assert.deepEqual(
      seen.requests.filter((u) => !u.startsWith(`${s.origin}/`)),
      []
    )

    const adminWallet = await newWallet()
    await login(s.t.app, { wallet: adminWallet, role: 'admin' })
    const victim = await login(s.t.app)
    const sid = (await s.t.app.repos.authSessions.listActiveForUser(victim.userId))[0].session_id
    const b2 = await launchBrowser(t)
    if (b2 === null) return
    browsers.push(b2)
    const adminPage = await b2.context.newPage()
    adminPage.setDefaultTimeout(15_000)
    await injectWallet(adminPage, adminWallet)
    await adminPage.goto(`${s.origin}/admin`)
    const loginAnswer = adminPage.waitForResponse(
      (r) => r.url().endsWith('/api/v1/auth/login') && r.request().method() === 'POST'
    )
    await adminPage.getByRole('button', { name: 'Sign in with TRON wallet' }).click()
    const token = ((await (await loginAnswer).json()) as { access_token: string }).access_token
    await adminPage.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
    assert.equal(await adminPage.locator('.who .badge').innerText(), 'admin')

    await adminPage.getByRole('link', { name: 'Identity' }).click()
    await adminPage.locator(`[data-key="open-${victim.userId}"]`).click()
    await adminPage.getByRole('heading', { name: /Login sessions/ }).waitFor()
    await adminPage.locator('#user-detail').getByText(sid.slice(0, 8)).waitFor()
    await shot(adminPage, 'identity-admin-read-only')
    assert.equal(await adminPage.getByRole('button', { name: /Revoke|Change role/ }).count(), 0)
    await adminPage.getByRole('link', { name: 'Limits' }).click()
    await adminPage.locator('#limits-rules').getByText('public').first().waitFor()
    assert.equal(await adminPage.getByRole('button', { name: /Clear/ }).count(), 0)
    await adminPage.getByRole('link', { name: 'Backups & storage' }).click()
    await adminPage.locator('[data-stat="db-size"]').waitFor()
    assert.equal(await adminPage.getByRole('button', { name: /Create a backup|Verify/ }).count(), 0)

    // The same call the super_admin's button makes, forged from the admin's page with its own token.
    const forged = await adminPage.evaluate(
      async ([url, bearer]) => {
        const r = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${bearer}` } })
        return { status: r.status, body: (await r.json()) as { error: { code: string } } }
      },
      [`/api/v1/users/${victim.userId}/sessions/${sid}`, token]
    )
    assert.equal(forged.status, 403)
    assert.equal(forged.body.error.code, 'LUCID_ERR_2004')
    assert.equal((await fetch(`${s.origin}/api/v1/users/me`, { headers: victim.auth })).status, 200)

    // Silent refresh: before the 30 s token expires the page trades its refresh token for a new
    // pair and keeps reading the API with it, still without storing anything.
    const renewed = await adminPage.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh'), {
      timeout: 40_000
    })
    assert.equal(renewed.status(), 200)
    const next = ((await renewed.json()) as { access_token: string }).access_token
    assert.notEqual(next, token)
    // The next API read carries a renewed token (this one or a later renewal), never the first.
    const used = await adminPage.waitForResponse(
      (r) => r.url().includes('/api/v1/') && !r.url().endsWith('/auth/refresh')
    )
    assert.equal(used.status(), 200)
    assert.notEqual(await used.request().headerValue('authorization'), `Bearer ${token}`)
    assert.equal(await adminPage.getByRole('heading', { name: 'Backups & storage', level: 1 }).count(), 1)
    const stored = await adminPage.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')
    assert.deepEqual(stored, [0, 0, ''])
  } finally {
    for (const b of browsers) await b.close()
    await s.t.close()
    await s.smtp.close()
    await s.echo.close()
    await s.chain.close()
  }
})
