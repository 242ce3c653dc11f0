import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import pino from 'pino'
import { buildApp } from '../src/app.js'
import { loggerOptions } from '../src/logger.js'
import { testConfig } from './helpers/app.js'
import { createTestDb, createTestStateStore } from './helpers/stores.js'
import { login } from './helpers/identity.js'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

test('access lines carry request_id, status, duration and user_id; credentials never reach the log', async () => {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      cb()
    }
  })
  const logger = pino(loggerOptions('debug'), sink)
  const db = await createTestDb()
  const store = await createTestStateStore()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-log-'))
  const app = await buildApp(testConfig(dataDir), { db: db.db, stateStore: store.store, logger })
  try {
    await app.ready()
    const li = await login(app)
    await app.inject({
      url: '/api/v1/users/me',
      headers: { ...li.auth, 'x-request-id': 'trace-me-1', cookie: 'session=topsecret' }
    })
    await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: li.refresh } })
    await app.inject({ url: '/api/v1/users/me', headers: { authorization: 'Bearer not.a.validtoken' } })
    // The access line is written without the redaction pass: its path must never carry the query.
    await app.inject({
      url: '/api/v1/meta/version?access_token=query-secret-1',
      headers: { 'x-request-id': 'trace-me-2' }
    })
    const text = JSON.stringify(lines)
    assert.ok(!text.includes(li.access), 'no access token')
    assert.ok(!text.includes(li.refresh), 'no refresh token')
    assert.ok(!text.includes('topsecret'), 'no cookie')
    assert.ok(!text.includes('not.a.validtoken'))
    assert.ok(!text.includes('query-secret-1'), 'no token from a query string')
    const queried = lines.find((l) => l.request_id === 'trace-me-2' && l.msg === 'request completed')
    assert.equal(queried?.path, '/api/v1/meta/version')
    const access = lines.find((l) => l.request_id === 'trace-me-1' && l.msg === 'request completed')
    assert.ok(access, 'access line found by request id')
    assert.equal(access.status, 200)
    assert.equal(access.method, 'GET')
    assert.equal(access.path, '/api/v1/users/me')
    assert.equal(access.user_id, li.userId)
    assert.equal(typeof access.duration_ms, 'number')
  } finally {
    await app.close()
    await store.close()
    await db.close()
  }
})
