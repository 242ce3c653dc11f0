import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { Readable } from 'node:stream'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

const realLimits = (extra: Record<string, string> = {}) => ({
  RATE_LIMIT_PUBLIC: '100',
  RATE_LIMIT_AUTHENTICATED: '1000',
  RATE_LIMIT_AUTH: '10',
  RATE_LIMIT_REDIS_TIMEOUT_MS: '1000',
  ...extra
})

describe(`rate limits on ${process.env.REDIS_URL ? 'Redis' : 'the in-process store'}`, () => {
  test('110 requests sent together from one IP to a public route: exactly the limit plus the refill, 429s with correct headers', async () => {
    const t = await buildTestApp({ env: realLimits() })
    try {
      const started = performance.now()
      const res = await Promise.all(Array.from({ length: 110 }, () => t.app.inject({ url: '/api/v1/meta/version' })))
      // GCRA refills one request per 0.6 s: a burst spread over more time (a loaded machine) may admit those.
      const refill = Math.floor((performance.now() - started) / 600)
      const statuses = res.map((r) => r.statusCode)
      const admitted = statuses.filter((s) => s === 200).length
      assert.ok(admitted >= 100 && admitted <= 100 + refill, `admitted ${admitted}, limit 100 + refill ${refill}`)
      assert.equal(statuses.filter((s) => s === 429).length, 110 - admitted)
      const ok = res.find((r) => r.statusCode === 200)!
      assert.equal(ok.headers['ratelimit-policy'], '"public";q=100;w=60')
      assert.match(String(ok.headers.ratelimit), /^"public";r=\d+;t=\d+$/)
      assert.equal(ok.headers['x-ratelimit-limit'], '100')
      const limited = res.find((r) => r.statusCode === 429)!
      assert.equal(limited.json().error.code, 'LUCID_ERR_3001')
      assert.equal(limited.headers['x-ratelimit-remaining'], '0')
      const retry = Number(limited.headers['retry-after'])
      assert.ok(retry >= 1 && retry <= 1, `Retry-After is the emission interval (0.6 s → 1 s), got ${retry}`)
      assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200, '/health is never limited')
      const metrics = (await t.app.inject({ url: '/metrics' })).body
      assert.match(
        metrics,
        new RegExp(`rate_limit_decisions_total\\{policy="public",result="limited"\\} ${110 - admitted}\\b`)
      )
    } finally {
      await t.close()
    }
  })

  test('Retry-After is honoured: a request after it succeeds', async () => {
    const t = await buildTestApp({
      env: realLimits({
        RATE_LIMIT_RULES: JSON.stringify([
          { name: 'fast', path: '/api/v1/meta/info', key: 'ip', limit: 2, period_s: 2 }
        ])
      })
    })
    try {
      const get = () => t.app.inject({ url: '/api/v1/meta/info' })
      assert.equal((await get()).statusCode, 200)
      assert.equal((await get()).statusCode, 200)
      const limited = await get()
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.headers['ratelimit-policy'], '"fast";q=2;w=2')
      const retry = Number(limited.headers['retry-after'])
      assert.equal(retry, 1)
      await sleep(retry * 1000 + 50)
      assert.equal((await get()).statusCode, 200)
    } finally {
      await t.close()
    }
  })

  test('challenge, login and verify share one auth bucket per IP; failed logins count', async () => {
    const t = await buildTestApp({ env: realLimits({ RATE_LIMIT_AUTH: '4' }) })
    try {
      const statuses: number[] = []
      statuses.push(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/challenge',
            payload: { tron_address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' }
          })
        ).statusCode
      )
      statuses.push(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { tron_address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8', signature: '0x00', nonce: 'x' }
          })
        ).statusCode
      )
      statuses.push(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/verify',
            payload: { email: 'a@example.com', code: '123456' }
          })
        ).statusCode
      )
      statuses.push(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/verify',
            payload: { email: 'a@example.com', code: '123456' }
          })
        ).statusCode
      )
      const fifth = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/challenge',
        payload: { tron_address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' }
      })
      assert.deepEqual(statuses, [200, 401, 401, 401])
      assert.equal(fifth.statusCode, 429)
      assert.equal(fifth.headers['ratelimit-policy'], '"auth";q=4;w=60')
      const other = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/challenge',
        remoteAddress: '10.9.8.7',
        payload: { tron_address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' }
      })
      assert.equal(other.statusCode, 200, 'another IP has its own bucket')
    } finally {
      await t.close()
    }
  })

  test('authenticated users are limited per user, across IPs, on their tier', async () => {
    const t = await buildTestApp({ env: realLimits({ RATE_LIMIT_AUTHENTICATED: '5', RATE_LIMIT_PUBLIC: '1000' }) })
    try {
      const li = await login(t.app)
      const statuses = []
      for (let i = 0; i < 6; i++)
        statuses.push(
          (await t.app.inject({ url: '/api/v1/users/me', headers: li.auth, remoteAddress: `10.0.0.${i + 1}` }))
            .statusCode
        )
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429])
      const res = await t.app.inject({ url: '/api/v1/users/me', headers: li.auth })
      assert.equal(res.headers['ratelimit-policy'], '"authenticated";q=5;w=60')
      const admin = await login(t.app, { role: 'super_admin' }) // clearing is a write (issue 12)
      const state = await t.app.inject({ url: `/api/v1/cache/rate-limits/user:${li.userId}`, headers: admin.auth })
      assert.equal(state.statusCode, 200)
      assert.ok(state.json().rules.some((r: { rule: string }) => r.rule === 'authenticated'))
      const cleared = await t.app.inject({
        method: 'DELETE',
        url: `/api/v1/cache/rate-limits/user:${li.userId}`,
        headers: admin.auth
      })
      assert.equal(cleared.statusCode, 200)
      assert.equal(
        (await t.app.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode,
        200,
        'cleared by a super_admin'
      )
      assert.equal(
        (await t.app.inject({ url: `/api/v1/cache/rate-limits/user:${li.userId}`, headers: li.auth })).statusCode,
        403
      )
    } finally {
      await t.close()
    }
  })

  test('escalation (when enabled) halves a user’s limits after repeated hits', async () => {
    const t = await buildTestApp({ env: realLimits({ RATE_LIMIT_AUTHENTICATED: '4', RATE_LIMIT_ESCALATION: 'true' }) })
    try {
      const li = await login(t.app)
      const hits = []
      for (let i = 0; i < 7; i++)
        hits.push((await t.app.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode)
      assert.deepEqual(hits, [200, 200, 200, 200, 429, 429, 429])
      await sleep(50)
      const admin = await login(t.app, { role: 'super_admin' }) // clearing is a write (issue 12)
      const state = await t.app.inject({ url: `/api/v1/cache/rate-limits/user:${li.userId}`, headers: admin.auth })
      assert.equal(state.json().penalised, true)
      await t.app.inject({ method: 'DELETE', url: `/api/v1/cache/rate-limits/user:${li.userId}`, headers: admin.auth })
      assert.equal(
        (await t.app.inject({ url: `/api/v1/cache/rate-limits/user:${li.userId}`, headers: admin.auth })).json()
          .penalised,
        false
      )
    } finally {
      await t.close()
    }
  })

  test('uploads are shaped to the bandwidth limit by backpressure; a client far over budget gets 429/3004', async () => {
    const rate = 512 * 1024
    const t = await buildTestApp({
      env: realLimits({ RATE_LIMIT_BANDWIDTH_BYTES_PER_S: String(rate) }),
      extraRoutes: (app) => {
        app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload))
        app.post('/test/upload', { onRequest: [app.authenticate] }, async (request) => {
          const shaped = await app.rateLimit.shapeUpload(request, request.body as Readable)
          let bytes = 0
          for await (const chunk of shaped) bytes += (chunk as Buffer).length
          return { bytes }
        })
      }
    })
    try {
      const li = await login(t.app)
      const body = Buffer.alloc(3 * rate, 7)
      const started = Date.now()
      const res = await t.app.inject({
        method: 'POST',
        url: '/test/upload',
        headers: { ...li.auth, 'content-type': 'application/octet-stream', 'content-length': '10' },
        payload: Readable.from([body.subarray(0, rate), body.subarray(rate, 2 * rate), body.subarray(2 * rate)])
      })
      const seconds = (Date.now() - started) / 1000
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().bytes, body.length, 'counted while streaming, whatever Content-Length said')
      assert.ok(
        seconds >= 1.7,
        `3× the per-second budget took ${seconds.toFixed(2)} s (one second of burst, two of shaping)`
      )
      // Put the user far over budget, as several parallel uploads would.
      await t.app.rateLimit.limiter.shape(`user:${li.userId}`, {
        rule: { name: 'chunk_bandwidth', limit: rate, periodMs: 1000, burst: rate },
        key: 'chunk_bandwidth',
        cost: 5 * rate
      })
      const refused = await t.app.inject({
        method: 'POST',
        url: '/test/upload',
        headers: { ...li.auth, 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(10)
      })
      assert.equal(refused.statusCode, 429)
      assert.equal(refused.json().error.code, 'LUCID_ERR_3004')
      assert.ok(Number(refused.headers['retry-after']) >= 1)
    } finally {
      await t.close()
    }
  })
})

test(
  'three gateway instances sharing one Redis admit exactly the limit from one key',
  { skip: !process.env.REDIS_URL && process.env.CI !== 'true' ? 'SKIPPED: REDIS_URL not set' : false },
  async () => {
    const t = await buildTestApp({ env: realLimits({ RATE_LIMIT_PUBLIC: '100' }) })
    try {
      const b = await t.sibling()
      const c = await t.sibling()
      const instances = [t.app, b, c]
      const res = await Promise.all(
        Array.from({ length: 180 }, (_, i) =>
          instances[i % 3].inject({ url: '/api/v1/meta/version', remoteAddress: '192.0.2.10' })
        )
      )
      assert.equal(res.filter((r) => r.statusCode === 200).length, 100, 'no over-admission across instances')
      assert.equal(res.filter((r) => r.statusCode === 429).length, 80)
    } finally {
      await t.close()
    }
  }
)

test('RATE_LIMIT_ENABLED=false turns limiting off entirely (no headers, no 429)', async () => {
  const t = await buildTestApp({ env: { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_PUBLIC: '2' } })
  try {
    const res = await Promise.all(Array.from({ length: 5 }, () => t.app.inject({ url: '/api/v1/meta/version' })))
    assert.deepEqual(
      res.map((r) => r.statusCode),
      [200, 200, 200, 200, 200]
    )
    assert.equal(res[0].headers['ratelimit-policy'], undefined)
  } finally {
    await t.close()
  }
})
