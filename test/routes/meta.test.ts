import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'

describe('meta, probes, metrics and docs', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  test('GET /health and /ready answer 200 while the database is reachable', async () => {
    const live = await t.app.inject({ url: '/health' })
    assert.equal(live.statusCode, 200)
    assert.equal(live.json().status, 'ok')
    const ready = await t.app.inject({ url: '/ready' })
    assert.equal(ready.statusCode, 200)
    assert.equal(ready.json().status, 'ready')
    assert.equal(ready.json().database.status, 'healthy')
  })

  test('meta/health reports each dependency with latency and the storage modes', async () => {
    const res = await t.app.inject({ url: '/api/v1/meta/health' })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.status, 'healthy')
    assert.equal(body.service, 'api-gateway')
    assert.equal(body.storage.database, process.env.DATABASE_URL ? 'postgresql' : 'embedded')
    assert.equal(body.storage.state, process.env.REDIS_URL ? 'redis' : 'standalone')
    assert.equal(body.dependencies.database.status, 'healthy')
    assert.equal(typeof body.dependencies.database.latency_ms, 'number')
    assert.equal(body.dependencies.state_store.status, 'healthy')
    assert.equal(typeof body.uptime, 'number')
  })

  test('meta/info and meta/version follow the plans', async () => {
    const info = (await t.app.inject({ url: '/api/v1/meta/info' })).json()
    assert.equal(info.service_name, 'lucid-api-gateway')
    assert.ok(Array.isArray(info.features) && info.features.includes('authentication'))
    const version = (await t.app.inject({ url: '/api/v1/meta/version' })).json()
    assert.deepEqual(version, {
      api_version: 'v1',
      gateway_version: info.version,
      supported_versions: ['v1'],
      deprecation_notice: null
    })
  })

  test('meta/metrics requires authentication', async () => {
    const res = await t.app.inject({ url: '/api/v1/meta/metrics' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json().error.code, 'LUCID_ERR_2001')
  })

  test('/metrics exposes request counts and latency by route template and status', async () => {
    await t.app.inject({ url: '/api/v1/meta/version' })
    await t.app.inject({ url: '/api/v1/does-not-exist' })
    const res = await t.app.inject({ url: '/metrics' })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /text\/plain/)
    assert.match(res.body, /http_requests_total\{method="GET",route="\/api\/v1\/meta\/version",status="200"\} \d+/)
    assert.match(res.body, /http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/)
    assert.match(
      res.body,
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v1\/meta\/version",status="200"\}/
    )
    assert.match(res.body, /http_active_connections \d+/)
    assert.ok(res.body.startsWith('# HELP'), 'raw exposition format, not a JSON string')
    assert.match(res.body, /process_resident_memory_bytes/)
  })

  test('OpenAPI 3.1 is generated from the routes: explicit error statuses, security and an operationId on every operation', async () => {
    const res = await t.app.inject({ url: '/openapi.json' })
    assert.equal(res.statusCode, 200)
    const doc = res.json()
    assert.equal(doc.openapi, '3.1.0')
    assert.ok(doc.paths['/api/v1/meta/health'].get)
    assert.ok(doc.components.schemas.ErrorEnvelope, 'the envelope is a named component')
    const ids = new Set<string>()
    type Op = {
      operationId: string
      security?: unknown[]
      responses: Record<string, { content?: Record<string, unknown> }>
    }
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Op>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`
        assert.ok(
          !ids.has(op.operationId) && /^[a-z][A-Za-z0-9]+$/.test(op.operationId),
          `${where}: unique, readable operationId (${op.operationId})`
        )
        ids.add(op.operationId)
        assert.ok(Array.isArray(op.security), `${where} declares its security ([] when public)`)
        assert.ok(op.responses['500'] && op.responses['400'], `${where} lists its error statuses`)
        assert.ok(!op.responses['4XX'] && !op.responses['5XX'], `${where}: explicit statuses, not ranges`)
        assert.deepEqual(
          Object.keys(op.responses['500'].content ?? {}),
          ['application/json'],
          `${where}: errors are JSON`
        )
      }
    }
    const me = doc.paths['/api/v1/users/me'].get
    assert.deepEqual(me.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }])
    assert.ok(me.responses['401'], 'an authenticated operation documents 401')
    assert.deepEqual(doc.paths['/api/v1/auth/challenge'].post.security, [], 'public operations say so')
    const sessions = doc.paths['/api/v1/sessions'].get.parameters as { name: string; required: boolean }[]
    assert.equal(sessions.find((p) => p.name === 'page')?.required, false, 'a parameter with a default is optional')
    assert.equal(doc.paths['/api/v1/auth/logout'].post.requestBody.required, false)
    assert.deepEqual(doc.servers, [{ url: '/', description: 'this gateway' }])
    const docs = await t.app.inject({ url: '/docs/' })
    assert.equal(docs.statusCode, 200)
    assert.match(docs.body, /swagger/i)
    assert.match(String(docs.headers['content-security-policy']), /script-src 'self'/)
  })

  test('docs can be switched off', async () => {
    const off = await buildTestApp({ env: { DOCS_ENABLED: 'false' } })
    try {
      assert.equal((await off.app.inject({ url: '/openapi.json' })).statusCode, 404)
      assert.equal((await off.app.inject({ url: '/docs' })).statusCode, 404)
    } finally {
      await off.close()
    }
  })
})
