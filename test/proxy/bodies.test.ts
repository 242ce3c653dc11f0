import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startEchoServer, startLucidBlocks, type LucidBlocksStandIn, type StandIn } from '../support/stand-ins.js'
import { documentedProxyRoutes } from '../../src/routes/proxy/docs.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

// Issue 13, defect 1: the documented body schemas of proxied routes are for the document only;
// the gateway never validates or parses what it forwards (the upstream is the authority).
describe('bodies through documented proxy routes', () => {
  let t: TestApp
  let chain: LucidBlocksStandIn
  let nodes: StandIn
  let payments: StandIn
  let operator: LoggedIn
  before(async () => {
    chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
    nodes = await startEchoServer({ name: 'node_management' })
    payments = await startEchoServer({ name: 'tron_payment' })
    t = await buildTestApp({
      env: { BLOCKCHAIN_CORE_URL: chain.url, NODE_SERVICE_URL: nodes.url, TRON_PAYMENT_URL: payments.url }
    })
    operator = await login(t.app, { role: 'node_operator' })
  })
  after(async () => {
    await t.close()
    await chain.close()
    await nodes.close()
    await payments.close()
  })

  const upstreamOf: Record<string, () => StandIn> = {
    '/api/v1/chain': () => chain,
    '/api/v1/wallets': () => payments,
    '/api/v1/nodes': () => nodes
  }
  const withBody = Object.keys(upstreamOf).flatMap((prefix) =>
    documentedProxyRoutes(prefix)
      .filter((r) => r.schema.body !== undefined)
      .map((r) => ({ prefix, ...r }))
  )

  test('every documented proxy route with a body is covered', () => {
    assert.deepEqual(withBody.map((r) => `${r.method} ${r.url}`).sort(), [
      'POST /api/v1/chain/transactions',
      'POST /api/v1/nodes/:node_id/maintenance',
      'POST /api/v1/wallets',
      'POST /api/v1/wallets/:wallet_id/transactions'
    ])
  })

  for (const route of withBody) {
    const url = route.url.replace(/:([a-z_]+)/g, 'id-1')
    test(`${route.method} ${route.url}: a valid body, an invalid one and a non-JSON one reach the upstream byte for byte`, async () => {
      const upstream = upstreamOf[route.prefix]()
      const bodies: [string, string][] = [
        [
          'application/json',
          JSON.stringify({
            type: 'data',
            data: { x: 1 },
            name: 'main',
            currency: 'TRX',
            amount: 1,
            recipient: 'TX',
            enabled: true
          })
        ],
        // Violates the documented schema (missing required fields, unknown ones): still not ours to judge.
        ['application/json', '{"unexpected":[1,2,3],"deep":{"a":{"b":{"c":null}}}}'],
        ['text/plain; charset=utf-8', 'not json at all'],
        ['application/x-www-form-urlencoded', 'a=1&b=2']
      ]
      for (const [type, body] of bodies) {
        const before = upstream.requests.length
        const res = await t.app.inject({
          method: route.method,
          url,
          headers: { ...operator.auth, 'content-type': type },
          payload: body
        })
        assert.ok(
          res.headers['x-upstream-service'] !== undefined,
          `answered by the upstream, not judged by the gateway: ${res.statusCode} ${res.body}`
        )
        const seen = upstream.requests.slice(before).find((r) => r.url === url)
        assert.ok(seen !== undefined, `${url} reached the upstream`)
        assert.equal(seen.body_sha256, sha(body), 'the upstream received exactly the bytes sent')
        assert.equal(seen.headers['content-type'], type)
      }
    })
  }

  test('lucid_blocks is the authority: it accepts a transaction the gateway used to refuse, and its own 422 passes through', async () => {
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chain/transactions',
      headers: operator.auth,
      payload: { type: 'data', data: { x: 1 } }
    })
    assert.equal(ok.statusCode, 202, ok.body)
    assert.equal(ok.json().status, 'pending')
    const theirs = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chain/transactions',
      headers: operator.auth,
      payload: { data: { x: 1 } }
    })
    assert.equal(theirs.statusCode, 422)
    assert.deepEqual(theirs.json(), { error: 'type and data are required' }, "lucid_blocks' own answer, unchanged")
  })

  test('query parameters of documented proxy routes are not validated either', async () => {
    const res = await t.app.inject({ url: '/api/v1/chain/blocks?from_height=zero&limit=5000', headers: operator.auth })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(chain.requests.at(-1)?.url, '/api/v1/chain/blocks?from_height=zero&limit=5000')
  })
})
