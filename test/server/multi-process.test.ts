import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { TEST_DATA_KEY, TEST_JWT_SECRET } from '../helpers/app.js'
import { newWallet } from '../helpers/identity.js'
import { requireEnv } from '../helpers/programs.js'
import { createPgTestDatabase } from '../helpers/stores.js'
import { freePort } from '../helpers/throwaway.js'
import { spawnGateway } from '../helpers/gateway-process.js'

// Fresh connections each call, so requests spread over the workers sharing a port.
const fresh = new Agent({ pipelining: 0 })

async function call(
  url: string,
  opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown; dispatcher?: Agent } = {}
) {
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers: {
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
      connection: opts.dispatcher === undefined ? 'close' : 'keep-alive'
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    dispatcher: opts.dispatcher ?? fresh,
    // A connection handed to a worker as it is killed never gets an answer: bound the wait.
    headersTimeout: 10_000,
    bodyTimeout: 10_000
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: () => JSON.parse(text) }
}

test('WORKERS=2 plus a third process on one PostgreSQL and Redis: shared limit, logout seen everywhere, a killed worker replaced, SIGTERM drains', async (t) => {
  const pgUrl = requireEnv('DATABASE_URL', t)
  const redisUrl = requireEnv('REDIS_URL', t)
  if (pgUrl === null || redisUrl === null) return
  const db = await createPgTestDatabase(pgUrl)
  t.after(() => db.drop())
  const [portA, portB] = [await freePort(), await freePort()]
  const common = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    STATE_KEY_PREFIX: `lucid-mp-${randomUUID()}:`,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    RATE_LIMIT_PUBLIC: '100000',
    RATE_LIMIT_RULES: JSON.stringify([
      { name: 'version', path: '/api/v1/meta/version', key: 'ip', limit: 20, period_s: 60, burst: 20 }
    ]),
    RATE_LIMIT_AUTHENTICATED: '100000',
    RATE_LIMIT_AUTH: '100000',
    REVOCATION_POLL_MS: '200'
  }
  const a = spawnGateway(t, { ...common, WORKERS: '2', HTTP_PORT: String(portA) })
  await a.waitFor(/gateway listening/, 2)
  const b = spawnGateway(t, { ...common, WORKERS: '1', HTTP_PORT: String(portB) })
  await b.waitFor(/gateway listening/)
  await sleep(1_000) // three processes just started on two cores: let their loops settle
  const A = `http://127.0.0.1:${portA}`
  const B = `http://127.0.0.1:${portB}`

  // 1. One limit of 20/min per IP shared exactly by three processes (GCRA: 20 at once, then one per 3 s).
  const started = Date.now()
  const statuses: number[] = []
  for (let i = 0; i < 36; i++) {
    const r = await call(`${i % 3 === 0 ? B : A}/api/v1/meta/version`)
    if (i === 0) assert.match(String(r.headers['ratelimit-policy']), /"version";q=20;w=60/)
    statuses.push(r.status)
  }
  const refill = Math.floor((Date.now() - started) / 3_000)
  const admitted = statuses.filter((s) => s === 200).length
  assert.equal(statuses.filter((s) => s !== 200 && s !== 429).length, 0)
  assert.ok(
    admitted >= 20 && admitted <= 20 + refill,
    `admitted ${admitted} of 36 with a shared limit of 20 (+${refill} refilled)`
  )

  // 2. Log in on one process; the token works on all; logout on another is seen by every worker.
  const wallet = await newWallet()
  const ch = (
    await call(`${A}/api/v1/auth/challenge`, { method: 'POST', body: { tron_address: wallet.address } })
  ).json()
  const li = await call(`${A}/api/v1/auth/login`, {
    method: 'POST',
    body: { tron_address: wallet.address, signature: wallet.sign(ch.message), nonce: ch.nonce }
  })
  assert.equal(li.status, 200)
  const auth = { authorization: `Bearer ${li.json().access_token}` }
  for (let i = 0; i < 4; i++)
    assert.equal((await call(`${i % 2 ? A : B}/api/v1/users/me`, { headers: auth })).status, 200)
  assert.equal((await call(`${B}/api/v1/auth/logout`, { method: 'POST', headers: auth, body: {} })).status, 200)
  const loggedOutAt = Date.now()
  let seen = false
  while (!seen && Date.now() - loggedOutAt < 5_000) {
    const rs = await Promise.all([
      call(`${A}/api/v1/users/me`, { headers: auth }),
      call(`${A}/api/v1/users/me`, { headers: auth }),
      call(`${B}/api/v1/users/me`, { headers: auth })
    ])
    seen = rs.every((r) => r.status === 401)
    if (!seen) await sleep(50)
  }
  assert.ok(seen, 'every process refuses the logged-out token')
  assert.ok(
    Date.now() - loggedOutAt < 2_000,
    `revocation took ${Date.now() - loggedOutAt} ms (bound 1 s, asserted with margin)`
  )

  // 3. Kill a worker of A under steady traffic: it is replaced; only requests in flight on it may fail.
  const pids = [...a.output().matchAll(/"worker_pid":(\d+),?[^\n]*"msg":"worker started"/g)].map((m) => Number(m[1]))
  assert.equal(pids.length, 2, a.output())
  const keepAlive = new Agent({ connections: 4 })
  let ok = 0
  const failures: number[] = [] // start times of failed requests
  let running = true
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (running) {
        const started = Date.now()
        try {
          const r = await call(`${A}/health`, { dispatcher: keepAlive })
          if (r.status === 200) ok++
          else failures.push(started)
        } catch {
          failures.push(started)
          await sleep(10) // a refused connection fails at once: do not spin
        }
      }
    })
  )
  let beforeKill = 0
  let replacedAt = Infinity
  try {
    await sleep(300)
    beforeKill = ok
    process.kill(pids[0], 'SIGKILL')
    await a.waitFor(/worker died; starting a replacement/)
    await a.waitFor(/"msg":"worker started"/, 3)
    await a.waitFor(/gateway listening/, 3)
    replacedAt = Date.now()
    await sleep(1_000)
  } finally {
    running = false
    await load
    await keepAlive.close()
  }
  const early = failures.filter((f) => f < replacedAt)
  // In flight on the killed worker: the 4 keep-alive requests, plus reconnections the primary
  // handed to it in the instant before it noticed the death.
  assert.ok(early.length <= 8, `${early.length} requests failed around the kill`)
  assert.deepEqual(
    failures.filter((f) => f >= replacedAt),
    [],
    'no failure once the replacement is up'
  )
  assert.ok(beforeKill > 20 && ok > beforeKill, `${beforeKill} requests before the kill, ${ok} in all`)
  for (let i = 0; i < 6; i++) assert.equal((await call(`${A}/health`)).status, 200)

  // 4. SIGTERM to the primary drains every worker and exits 0.
  assert.equal(await a.stop(), 0, a.output().slice(-2000))
  assert.match(a.output(), /all workers stopped; exiting/)
  assert.equal(await b.stop(), 0)
  await fresh.close()
})

test('WORKERS=2 without DATABASE_URL and REDIS_URL is refused with a clear message', async (t) => {
  const g = spawnGateway(t, { WORKERS: '2', HTTP_PORT: String(await freePort()), DATA_DIR: '/tmp/lucid-never-created' })
  const code = await new Promise<number | null>((resolve) => g.child.once('exit', resolve))
  assert.equal(code, 1)
  assert.match(g.output(), /WORKERS=2 runs several processes, which needs DATABASE_URL and REDIS_URL/)
})
