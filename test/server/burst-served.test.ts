/**
 * Issue 14: a burst of 300 concurrent requests to one gateway process is normal traffic and is
 * served, not shed: no 503 with the default load-shedding settings. Half are authenticated proxied
 * GETs to a real upstream (the heavy path), half public JSON; all from one client IP.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import { TEST_DATA_KEY, TEST_JWT_SECRET } from '../helpers/app.js'
import { newWallet } from '../helpers/identity.js'
import { requireEnv } from '../helpers/programs.js'
import { createPgTestDatabase } from '../helpers/stores.js'
import { freePort } from '../helpers/throwaway.js'
import { spawnGateway } from '../helpers/gateway-process.js'
import { startEchoServer } from '../support/stand-ins.js'

async function json(url: string, body: unknown): Promise<Record<string, string>> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return (await res.body.json()) as Record<string, string>
}

test('a burst of 300 concurrent requests to one instance is served with default settings: no 503', async (t) => {
  const pgUrl = requireEnv('DATABASE_URL', t)
  const redisUrl = requireEnv('REDIS_URL', t)
  if (pgUrl === null || redisUrl === null) return
  const db = await createPgTestDatabase(pgUrl)
  t.after(() => db.drop())
  const upstream = await startEchoServer({ name: 'nodes' })
  t.after(() => upstream.close())
  const port = await freePort()
  const gw = spawnGateway(t, {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    STATE_KEY_PREFIX: `lucid-burst1-${randomUUID()}:`,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    HTTP_PORT: String(port),
    NODE_SERVICE_URL: upstream.url,
    RATE_LIMIT_PUBLIC: '1000000',
    RATE_LIMIT_AUTHENTICATED: '1000000',
    LOG_LEVEL: 'info'
  })
  await gw.waitFor(/gateway listening/, 1, 90_000)
  const base = `http://127.0.0.1:${port}`
  const wallet = await newWallet()
  const ch = await json(`${base}/api/v1/auth/challenge`, { tron_address: wallet.address })
  const li = await json(`${base}/api/v1/auth/login`, {
    tron_address: wallet.address,
    signature: wallet.sign(ch.message),
    nonce: ch.nonce
  })
  const auth = { authorization: `Bearer ${li.access_token}` }

  const agent = new Agent({ connections: 300, pipelining: 1 })
  t.after(() => agent.close())
  const started = performance.now()
  const statuses = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      const res = await request(i % 2 ? `${base}/api/v1/nodes/burst/${i}` : `${base}/api/v1/meta/version`, {
        dispatcher: agent,
        headers: i % 2 ? auth : {},
        headersTimeout: 60_000
      })
      await res.body.dump()
      return res.statusCode
    })
  )
  const counts: Record<number, number> = {}
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1
  t.diagnostic(
    `300 concurrent requests answered in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(counts)}`
  )
  assert.deepEqual(counts, { 200: 300 }, 'every request of the burst is served')
  assert.equal(
    upstream.requests.filter((r) => r.url.startsWith('/api/v1/nodes/burst/')).length,
    150,
    'the upstream received every proxied one'
  )
})
