import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

// Every write of the storage API (super_admin only; issue 12: reads stay admin).
const DESTRUCTIVE: [string, string, object?][] = [
  ['POST', '/api/v1/backups', { name: 'x' }],
  ['POST', `/api/v1/backups/${randomUUID()}/verify`],
  ['POST', '/api/v1/backup-schedules', { name: 'x', cron: '0 3 * * *' }],
  ['DELETE', `/api/v1/cache/rate-limits/ip:203.0.113.9`],
  ['DELETE', `/api/v1/cache/sessions/${randomUUID()}`],
  ['DELETE', `/api/v1/backups/${randomUUID()}?confirm=true`],
  ['POST', `/api/v1/backups/${randomUUID()}/restore?confirm=true`, {}],
  ['POST', '/api/v1/backups/cleanup?confirm=true'],
  ['DELETE', `/api/v1/backup-schedules/${randomUUID()}?confirm=true`],
  ['POST', '/api/v1/database/collections', { name: 'x' }],
  ['PUT', '/api/v1/database/collections/x', { new_name: 'y' }],
  ['DELETE', '/api/v1/database/collections/x?confirm=true'],
  ['POST', '/api/v1/database/collections/x/indexes', { columns: [{ name: 'a' }] }],
  ['DELETE', '/api/v1/database/collections/x/indexes/x_idx?confirm=true'],
  ['POST', '/api/v1/database/collections/x/reindex'],
  ['POST', '/api/v1/database/indexes/recommended'],
  ['PUT', '/api/v1/cache/keys/cache:x', { value: 1 }],
  ['DELETE', '/api/v1/cache/keys/cache:x'],
  ['POST', '/api/v1/cache/flush', { confirm: true, pattern: '*' }],
  ['POST', '/api/v1/volumes', { name: 'v', quota_bytes: 1_048_576 }],
  ['PUT', '/api/v1/volumes/v', { status: 'readonly' }],
  ['POST', '/api/v1/volumes/v/resize', { quota_bytes: 2_097_152 }],
  ['DELETE', '/api/v1/volumes/v?confirm=true'],
  ['POST', '/api/v1/volumes/v/cleanup'],
  ['POST', '/api/v1/search/reindex'],
  ['POST', `/api/v1/users/${randomUUID()}/purge?confirm=true`]
]

test('a non-super_admin gets 403 on every destructive storage route; anonymous gets 401', async () => {
  const t = await buildTestApp()
  try {
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    const superAdmin = await login(t.app, { role: 'super_admin' })
    for (const [method, url, payload] of DESTRUCTIVE) {
      for (const who of [admin, user]) {
        const res = await t.app.inject({ method: method as 'POST', url, headers: who.auth, payload })
        assert.equal(res.statusCode, 403, `${method} ${url} as ${who === admin ? 'admin' : 'user'}`)
        assert.equal(res.json().error.code, 'LUCID_ERR_2004')
      }
      assert.equal(
        (await t.app.inject({ method: method as 'POST', url, payload })).statusCode,
        401,
        `${method} ${url} anonymous`
      )
      // The route exists: a super_admin gets past authorisation (to a 2xx, 404 of the target, or 409/422).
      const sa = await t.app.inject({ method: method as 'POST', url, headers: superAdmin.auth, payload })
      assert.ok(
        ![401, 403, 405].includes(sa.statusCode) &&
          !(sa.statusCode === 404 && sa.json().error.message === 'Route not found'),
        `${method} ${url} as super_admin → ${sa.statusCode} ${sa.body}`
      )
    }
  } finally {
    await t.close()
  }
})

// Reads stay with admins (CONTRACT.md section 4: admin reads the storage API).
const READS = [
  '/api/v1/backups',
  '/api/v1/backup-schedules',
  '/api/v1/cache/stats',
  '/api/v1/cache/keys',
  '/api/v1/cache/sessions',
  '/api/v1/cache/rate-limits',
  '/api/v1/database/stats',
  '/api/v1/database/collections',
  '/api/v1/volumes'
]

test('an admin reads every storage area; a user does not', async () => {
  const t = await buildTestApp()
  try {
    const admin = await login(t.app, { role: 'admin' })
    const user = await login(t.app)
    for (const url of READS) {
      assert.equal((await t.app.inject({ url, headers: admin.auth })).statusCode, 200, `${url} as admin`)
      assert.equal((await t.app.inject({ url, headers: user.auth })).statusCode, 403, `${url} as user`)
    }
  } finally {
    await t.close()
  }
})
