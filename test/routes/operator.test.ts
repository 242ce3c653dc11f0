/**
 * The operator endpoints behind the dashboard (issue 18): what an admin reads, what only a
 * super_admin may do, and that the numbers follow real traffic through a real upstream.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { startEchoServer, startLucidBlocks } from '../support/stand-ins.js'
import { ensureAdminBundle } from '../helpers/admin-bundle.js'
import { ADMIN_CSP } from '../../src/plugins/http-hygiene.js'
import { loadConfig, ConfigError } from '../../src/config.js'

test('traffic history counts requests, errors by envelope code and routes; admin only, reads audited', async () => {
  const t = await buildTestApp()
  try {
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    for (let i = 0; i < 30; i++) await t.app.inject({ url: '/api/v1/meta/version' })
    for (let i = 0; i < 4; i++) await t.app.inject({ url: `/api/v1/nope-${i}` })
    const res = await t.app.inject({ url: '/api/v1/meta/traffic?window_s=60', headers: admin.auth })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.scope, 'instance')
    assert.ok(body.totals.requests >= 34, `requests ${body.totals.requests}`)
    assert.equal(body.errors_by_code.find((c: { code: string }) => c.code === 'LUCID_ERR_4001')?.count, 4)
    const version = body.routes.find((r: { route: string }) => r.route === 'GET /api/v1/meta/version')
    assert.equal(version.requests, 30)
    assert.ok(body.totals.p99_ms >= body.totals.p50_ms && body.totals.p50_ms > 0)
    assert.equal(body.points.length, 12)

    assert.equal((await t.app.inject({ url: '/api/v1/meta/traffic', headers: user.auth })).statusCode, 403)
    assert.equal((await t.app.inject({ url: '/api/v1/meta/traffic' })).statusCode, 401)
    assert.equal((await t.app.inject({ url: '/api/v1/meta/traffic?window_s=5', headers: admin.auth })).statusCode, 422)
    const audit = await t.app.db.query<{ actor_id: string; target_id: string }>(
      "SELECT actor_id::text, target_id FROM audit_log WHERE action = 'meta.read'"
    )
    assert.ok(audit.rows.some((r) => r.actor_id === admin.userId && r.target_id === '/api/v1/meta/traffic'))
  } finally {
    await t.close()
  }
})

test('breakers: a stopped upstream opens its breaker, with the transition and the failures by kind', async () => {
  const echo = await startEchoServer({ name: 'node_management' })
  const t = await buildTestApp({ env: { NODE_SERVICE_URL: echo.url, UPSTREAM_BREAKER_FAILURES: '3' } })
  try {
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    assert.equal((await t.app.inject({ url: '/api/v1/nodes/x', headers: user.auth })).statusCode, 200)
    await echo.close()
    for (let i = 0; i < 5; i++) await t.app.inject({ url: '/api/v1/nodes/x', headers: user.auth })
    const res = await t.app.inject({ url: '/api/v1/meta/breakers', headers: admin.auth })
    assert.equal(res.statusCode, 200)
    const nm = res.json().upstreams.find((u: { name: string }) => u.name === 'node_management')
    assert.deepEqual(nm.prefixes, ['/api/v1/nodes'])
    assert.equal(nm.hosts[0].state, 'open')
    assert.equal(nm.transitions[0].to, 'open')
    assert.equal(nm.transitions[0].from, 'closed')
    // One request may fail three times (its retries), which is enough to open the breaker.
    assert.ok(nm.failures.by_kind.unavailable >= 1, JSON.stringify(nm.failures))
    assert.ok(nm.hosts[0].failures >= 3)
    assert.ok(nm.failures.by_kind.circuit_open >= 1, JSON.stringify(nm.failures))
    assert.ok(nm.retry_budget.requests >= 1)
    const traffic = (await t.app.inject({ url: '/api/v1/meta/traffic?window_s=60', headers: admin.auth })).json()
    assert.ok(traffic.errors_by_code.some((c: { code: string }) => c.code === 'LUCID_ERR_5007'))
  } finally {
    await t.close()
  }
})

test('limits: rules in force and the identity that was refused, inspectable and clearable', async () => {
  const t = await buildTestApp({ env: { RATE_LIMIT_AUTH: '2' } })
  try {
    // A super_admin: clearing limiter state is a write (issue 12); admins only read it.
    const admin = await login(t.app, { role: 'super_admin' })
    // login() used the auth bucket of 127.0.0.1 twice (challenge + login): the next call is refused.
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/challenge',
      payload: { tron_address: admin.wallet.address }
    })
    assert.equal(refused.statusCode, 429)
    const res = await t.app.inject({ url: '/api/v1/meta/limits', headers: admin.auth })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.mode, process.env.REDIS_URL ? 'redis' : 'memory')
    assert.equal(body.scope, process.env.REDIS_URL ? 'cluster' : 'instance')
    assert.deepEqual(
      body.rules.find((r: { name: string }) => r.name === 'auth'),
      {
        name: 'auth',
        kind: 'rule',
        pattern: '/api/v1/auth/(challenge|login|verify)',
        methods: ['POST'],
        key: 'ip',
        limit: 2,
        period_s: 60,
        burst: 2
      }
    )
    const ip = body.identities.find((i: { identity: string }) => i.identity === 'ip:127.0.0.1')
    assert.ok(ip !== undefined, JSON.stringify(body.identities))
    assert.equal(ip.refused_recent, 1)
    // Full a moment ago; GCRA debt drains continuously, so it is just under 1 by now.
    assert.ok(ip.rules.find((r: { rule: string }) => r.rule === 'auth').usage > 0.9)
    const cleared = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/cache/rate-limits/ip:127.0.0.1',
      headers: admin.auth
    })
    assert.equal(cleared.statusCode, 200)
    const after = (await t.app.inject({ url: '/api/v1/meta/limits', headers: admin.auth })).json()
    const again = after.identities.find((i: { identity: string }) => i.identity === 'ip:127.0.0.1')
    assert.equal(
      again?.rules.find((r: { rule: string }) => r.rule === 'auth'),
      undefined
    )
  } finally {
    await t.close()
  }
})

test('config is shown with every secret masked; chain status and jobs come from the real stores', async () => {
  const chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
  let shift = 0
  const t = await buildTestApp({
    env: { BLOCKCHAIN_CORE_URL: chain.url, SMTP_URL: 'smtp://mailer:hunter2@127.0.0.1:2525' },
    now: () => Date.now() + shift
  })
  try {
    const admin = await login(t.app, { role: 'admin' })
    const res = await t.app.inject({ url: '/api/v1/meta/config', headers: admin.auth })
    assert.equal(res.statusCode, 200)
    assert.ok(!res.body.includes(t.config.jwtSecretKey as string), 'JWT secret leaked')
    assert.ok(!res.body.includes('hunter2'), 'SMTP password leaked')
    assert.ok(!res.body.includes((t.config.dataEncryptionKey as Buffer).toString('hex')), 'data key leaked')
    const s = res.json().settings
    // Under the environment variable names an operator sets (the same view as `config print`).
    assert.equal(s.JWT_SECRET_KEY, '***')
    assert.equal(s.DATA_ENCRYPTION_KEY, '***')
    assert.equal(s.SMTP_URL, 'smtp://mailer:***@127.0.0.1:2525')
    assert.equal(s.RATE_LIMIT_PUBLIC, 1_000_000)
    assert.equal(s.ADMIN_UI_ENABLED, true)
    assert.equal(s.ADMIN_UI_PATH, '/admin')

    chain.mine()
    chain.mine()
    const before = (await t.app.inject({ url: '/api/v1/meta/chain', headers: admin.auth })).json()
    assert.equal(before.local_height, null)
    assert.equal(before.remote_height, chain.chain.length - 1)
    assert.equal(before.lag_blocks, chain.chain.length)
    await t.app.services.chain.sync.run()
    const after = (await t.app.inject({ url: '/api/v1/meta/chain', headers: admin.auth })).json()
    assert.equal(after.local_height, chain.chain.length - 1)
    assert.equal(after.lag_blocks, 0)
    assert.equal(after.anchors.pending, 0)
    assert.ok(after.last_synced_at !== null)

    shift += 120_000 // every interval job has a new slot to run
    await t.app.jobs.tick()
    await t.app.jobs.idle()
    const jobs = (await t.app.inject({ url: '/api/v1/meta/jobs', headers: admin.auth })).json()
    assert.ok(jobs.defined.includes('chain-sync') && jobs.defined.includes('backup-schedules'))
    const sync = jobs.jobs.find((j: { name: string }) => j.name === 'chain-sync')
    assert.ok(sync.run_count >= 1 && sync.last_error === null && sync.running === false, JSON.stringify(jobs))
  } finally {
    await t.close()
    await chain.close()
  }
})

test("a user's login sessions and API keys: admins read, super_admins revoke, revoked tokens refused", async () => {
  const t = await buildTestApp()
  try {
    const admin = await login(t.app, { role: 'admin' })
    const superAdmin = await login(t.app, { role: 'super_admin' })
    const user = await login(t.app)
    const key = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/users/me/api-keys',
        headers: user.auth,
        payload: { name: 'ci' }
      })
    ).json()
    const sessions = await t.app.inject({ url: `/api/v1/users/${user.userId}/sessions`, headers: admin.auth })
    assert.equal(sessions.statusCode, 200)
    assert.equal(sessions.json().sessions.length, 1)
    const sid = sessions.json().sessions[0].session_id
    const keys = (await t.app.inject({ url: `/api/v1/users/${user.userId}/api-keys`, headers: admin.auth })).json()
    assert.equal(keys.api_keys[0].key_id, key.key_id)
    assert.equal(keys.api_keys[0].key, undefined)

    const forged = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${user.userId}/sessions/${sid}`,
      headers: admin.auth
    })
    assert.equal(forged.statusCode, 403)
    assert.equal(forged.json().error.code, 'LUCID_ERR_2004')
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: user.auth })).statusCode, 200)
    assert.equal(
      (await t.app.inject({ url: `/api/v1/users/${user.userId}/sessions`, headers: user.auth })).statusCode,
      403
    )

    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${user.userId}/sessions/${sid}`,
      headers: superAdmin.auth
    })
    assert.equal(revoked.statusCode, 204)
    const refused = await t.app.inject({ url: '/api/v1/users/me', headers: user.auth })
    assert.equal(refused.statusCode, 401)
    assert.equal(refused.json().error.code, 'LUCID_ERR_2003')
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${user.userId}/sessions/${sid}`,
      headers: superAdmin.auth
    })
    assert.equal(again.statusCode, 404)

    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key.key } })).statusCode, 200)
    const keyGone = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${user.userId}/api-keys/${key.key_id}`,
      headers: superAdmin.auth
    })
    assert.equal(keyGone.statusCode, 204)
    assert.equal((await t.app.inject({ url: '/api/v1/users/me', headers: { 'x-api-key': key.key } })).statusCode, 401)

    const { rows } = await t.app.db.query<{ action: string; target_id: string; actor_id: string }>(
      `SELECT action, target_id, actor_id::text FROM audit_log
        WHERE action IN ('auth.session_revoked', 'auth.api_key_revoked') ORDER BY audit_id`
    )
    assert.deepEqual(rows, [
      { action: 'auth.session_revoked', target_id: sid, actor_id: superAdmin.userId },
      { action: 'auth.api_key_revoked', target_id: key.key_id, actor_id: superAdmin.userId }
    ])
  } finally {
    await t.close()
  }
})

test('GET /admin serves the built dashboard with its CSP, only listed assets; can be moved or disabled', async () => {
  await ensureAdminBundle()
  const t = await buildTestApp({ env: { ADMIN_UI_PATH: '/ops/console' } })
  const off = await buildTestApp({ env: { ADMIN_UI_ENABLED: 'false' } })
  try {
    const page = await t.app.inject({ url: '/ops/console' })
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['content-security-policy'], ADMIN_CSP)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.equal(page.headers['x-frame-options'], 'DENY')
    assert.match(page.body, /src="\/ops\/console\/assets\/app\.js"/)
    assert.ok(!/<script>|<style>|style=/.test(page.body), 'no inline script or style')
    const js = await t.app.inject({ url: '/ops/console/assets/app.js' })
    assert.equal(js.statusCode, 200)
    assert.match(String(js.headers['content-type']), /^text\/javascript/)
    assert.equal(
      (await t.app.inject({ url: '/ops/console/assets/app.js', headers: { 'if-none-match': String(js.headers.etag) } }))
        .statusCode,
      304
    )
    assert.equal((await t.app.inject({ url: '/ops/console/assets/manifest.json' })).statusCode, 404)
    // An encoded slash is refused before routing (issue 12 finding 2: one normalised path).
    assert.equal((await t.app.inject({ url: '/ops/console/assets/..%2Fmanifest.json' })).statusCode, 400)
    assert.equal((await t.app.inject({ url: '/admin' })).statusCode, 404)
    assert.equal((await off.app.inject({ url: '/admin' })).statusCode, 404)
  } finally {
    await t.close()
    await off.close()
  }
})

test('ADMIN_UI_PATH is validated and named in the error', () => {
  for (const bad of ['admin', '/api/admin', '/Admin', '/docs', '/a b']) {
    assert.throws(
      () => loadConfig({ ADMIN_UI_PATH: bad }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('ADMIN_UI_PATH')),
      bad
    )
  }
  assert.equal(loadConfig({ ADMIN_UI_PATH: '/ops/' }).adminUi.path, '/ops')
  assert.throws(() => loadConfig({ ADMIN_UI_ENABLED: 'maybe' }), /ADMIN_UI_ENABLED/)
})
