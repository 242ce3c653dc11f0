import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { loggerOptions } from '../../src/logger.js'
import { GATEWAY_VERSION } from '../../src/version.js'
import { buildTestApp, testConfig } from '../helpers/app.js'
import { login, newWallet } from '../helpers/identity.js'

// Issue 13, defect 6: what a new user trips over in the first minutes.

test('routes like logout and backups accept a request without a body', async (t) => {
  const gw = await buildTestApp({ env: { BACKUP_DIR: path.join(tmpdir(), `lucid-fc-${process.pid}-${Date.now()}`) } })
  t.after(() => gw.close())
  const user = await login(gw.app)
  const logout = await gw.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: user.auth })
  assert.equal(logout.statusCode, 200, logout.body)
  assert.match(logout.json().message, /1 session revoked/)
  const admin = await login(gw.app, { role: 'super_admin' })
  const backup = await gw.app.inject({ method: 'POST', url: '/api/v1/backups', headers: admin.auth })
  assert.equal(backup.statusCode, 202, backup.body)
  await gw.app.services.backups.idle()
  const row = (await gw.app.inject({ url: `/api/v1/backups/${backup.json().backup_id}`, headers: admin.auth })).json()
  assert.match(row.name, /^backup-\d{4}-\d\d-\d\dT/)
  assert.deepEqual([row.compression, row.encryption, row.retention_days], [true, true, 30], 'the documented defaults')
  const empty = await gw.app.inject({
    method: 'POST',
    url: `/api/v1/backups/${row.backup_id}/restore?confirm=true`,
    headers: (await login(gw.app, { role: 'super_admin' })).auth
  })
  assert.equal(empty.statusCode, 202, 'restore without a body: drop_existing defaults to false')
})

test('a wrong wallet_type is one validation error naming the allowed values', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const w = await newWallet()
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { tron_address: w.address, signature: 'ab', nonce: 'n', wallet_type: 'metamask' }
  })
  assert.equal(res.statusCode, 422)
  assert.deepEqual(res.json().error.details.validation_errors, [
    { field: 'wallet_type', message: 'must be one of: software, ledger, trezor, keepkey' }
  ])
  const doc = (await gw.app.inject({ url: '/openapi.json' })).json()
  const walletType =
    doc.paths['/api/v1/auth/login'].post.requestBody.content['application/json'].schema.properties.wallet_type
  assert.deepEqual(walletType.enum, ['software', 'ledger', 'trezor', 'keepkey'], 'documented as an enum')
  assert.match(walletType.description, /ledger/)
})

test('meta/health names the build version and the API version apart; the envelope carries the API version', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const health = (await gw.app.inject({ url: '/api/v1/meta/health' })).json()
  assert.equal(health.version, GATEWAY_VERSION)
  assert.equal(health.api_version, 'v1')
  assert.equal((await gw.app.inject({ url: '/api/v1/nope' })).json().error.version, health.api_version)
})

test('BOOTSTRAP_SUPER_ADMINS naming an existing account is logged with how to promote it', async (t) => {
  const first = await buildTestApp()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-boot-'))
  const wallet = await newWallet()
  await login(first.app, { wallet })
  const lines: { msg: string; level: string; tron_address?: string }[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      cb()
    }
  })
  const app = await buildApp(testConfig(dataDir, { BOOTSTRAP_SUPER_ADMINS: wallet.address }), {
    db: first.testDb.db,
    stateStore: first.testStore.store,
    logger: pino(loggerOptions('info'), sink)
  })
  t.after(async () => {
    await app.close()
    await first.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  await app.ready()
  const warning = lines.find((l) => l.tron_address === wallet.address)
  assert.ok(warning, 'a warning names the address')
  assert.equal(warning.level, 'warn')
  assert.match(warning.msg, new RegExp(`grant-role ${wallet.address} super_admin`))
  const relogin = await login(app, { wallet })
  assert.equal((relogin.body.user as { role: string }).role, 'user', 'the setting still applies to first logins only')
})
