import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Type } from '@sinclair/typebox'
import type { InjectOptions } from 'fastify'
import { buildTestApp, type TestApp } from '../helpers/app.js'

const SECURITY = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'geolocation=(), microphone=(), camera=(), payment=(), usb=()',
  'cross-origin-resource-policy': 'same-site'
}

function assertEnvelope(res: { json(): unknown; headers: Record<string, unknown> }, code: string) {
  const body = res.json() as { error: Record<string, unknown> }
  assert.equal(body.error.code, code)
  assert.equal(body.error.service, 'api-gateway')
  assert.equal(body.error.version, 'v1')
  assert.equal(body.error.request_id, res.headers['x-request-id'])
  assert.ok(!Number.isNaN(Date.parse(body.error.timestamp as string)))
  for (const [k, v] of Object.entries(SECURITY)) assert.equal(res.headers[k], v, `${k} on errors too`)
  return body.error
}

describe('error envelope and HTTP hygiene', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({
      env: { ALLOWED_HOSTS: 'api.lucid.test,localhost,127.0.0.1', BODY_LIMIT_BYTES: '2048' },
      extraRoutes: (app) => {
        app.post(
          '/test/echo',
          {
            schema: {
              body: Type.Object(
                { name: Type.String({ minLength: 3 }), n: Type.Optional(Type.Integer()) },
                { additionalProperties: false }
              )
            }
          },
          async (req) => req.body
        )
        app.get(
          '/test/items/:id',
          { schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } },
          async (req) => req.params
        )
        app.get('/test/boom', async () => {
          throw new Error('SELECT secret FROM internal_table failed at /srv/app.js:12')
        })
      }
    })
  })
  after(() => t.close())

  const inject = (o: InjectOptions) => t.app.inject(o)

  test('unknown route → 404/4001 with every security header', async () => {
    const res = await inject({ method: 'GET', url: '/api/v1/nope', headers: { host: 'api.lucid.test' } })
    assert.equal(res.statusCode, 404)
    assertEnvelope(res, 'LUCID_ERR_4001')
    assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'")
  })

  test('wrong method → 405/4003 with Allow', async () => {
    const res = await inject({ method: 'DELETE', url: '/api/v1/meta/info', headers: { host: 'localhost' } })
    assert.equal(res.statusCode, 405)
    assertEnvelope(res, 'LUCID_ERR_4003')
    assert.match(String(res.headers.allow), /GET/)
  })

  test('malformed JSON → 400/1009', async () => {
    const res = await inject({
      method: 'POST',
      url: '/test/echo',
      headers: { host: 'localhost', 'content-type': 'application/json' },
      payload: '{"name": "abc"'
    })
    assert.equal(res.statusCode, 400)
    assertEnvelope(res, 'LUCID_ERR_1009')
  })

  test('JSON nested deeper than 10 → 400/1001', async () => {
    const deep = '{"a":'.repeat(11) + '1' + '}'.repeat(11)
    const res = await inject({
      method: 'POST',
      url: '/test/echo',
      headers: { host: 'localhost', 'content-type': 'application/json' },
      payload: deep
    })
    assert.equal(res.statusCode, 400)
    assertEnvelope(res, 'LUCID_ERR_1001')
  })

  test('body over the limit → 413/1010', async () => {
    const res = await inject({
      method: 'POST',
      url: '/test/echo',
      headers: { host: 'localhost', 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(5000) })
    })
    assert.equal(res.statusCode, 413)
    assertEnvelope(res, 'LUCID_ERR_1010')
  })

  test('wrong content type → 415 with 1001', async () => {
    const res = await inject({
      method: 'POST',
      url: '/test/echo',
      headers: { host: 'localhost', 'content-type': 'text/xml' },
      payload: '<a/>'
    })
    assert.equal(res.statusCode, 415)
    assertEnvelope(res, 'LUCID_ERR_1001')
  })

  test('schema violations → 422/1001 with validation_errors naming each field', async () => {
    const res = await inject({
      method: 'POST',
      url: '/test/echo',
      headers: { host: 'localhost' },
      payload: { name: 'ab', n: 'x', extra: true }
    })
    assert.equal(res.statusCode, 422)
    const err = assertEnvelope(res, 'LUCID_ERR_1001')
    const fields = (err.details as { validation_errors: { field: string }[] }).validation_errors
      .map((v) => v.field)
      .sort()
    assert.deepEqual(fields, ['extra', 'n', 'name'])
  })

  test('malformed UUID in a path → 422/1005', async () => {
    const res = await inject({ method: 'GET', url: '/test/items/not-a-uuid', headers: { host: 'localhost' } })
    assert.equal(res.statusCode, 422)
    assertEnvelope(res, 'LUCID_ERR_1005')
  })

  test('an unhandled exception → 500/5001 with a generic message (no SQL, no paths)', async () => {
    const res = await inject({ method: 'GET', url: '/test/boom', headers: { host: 'localhost' } })
    assert.equal(res.statusCode, 500)
    const err = assertEnvelope(res, 'LUCID_ERR_5001')
    assert.equal(err.message, 'Internal server error')
    assert.doesNotMatch(res.body, /SELECT|internal_table|app\.js/)
  })

  test('Host not in ALLOWED_HOSTS → 400/1001', async () => {
    const res = await inject({ method: 'GET', url: '/health', headers: { host: 'evil.example' } })
    assert.equal(res.statusCode, 400)
    assertEnvelope(res, 'LUCID_ERR_1001')
  })

  test('X-Request-ID is echoed when well-formed and replaced otherwise', async () => {
    const ok = await inject({
      method: 'GET',
      url: '/health',
      headers: { host: 'localhost', 'x-request-id': 'abc.DEF_123-x' }
    })
    assert.equal(ok.headers['x-request-id'], 'abc.DEF_123-x')
    const bad = await inject({
      method: 'GET',
      url: '/health',
      headers: { host: 'localhost', 'x-request-id': 'has spaces<script>' }
    })
    assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const long = await inject({
      method: 'GET',
      url: '/health',
      headers: { host: 'localhost', 'x-request-id': 'a'.repeat(129) }
    })
    assert.notEqual(long.headers['x-request-id'], 'a'.repeat(129))
  })
})

describe('CORS over a real socket', () => {
  let t: TestApp
  let base: string
  before(async () => {
    t = await buildTestApp({ env: { CORS_ORIGINS: 'https://app.lucid.test' } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const addr = t.app.server.address() as { port: number }
    base = `http://127.0.0.1:${addr.port}`
  })
  after(() => t.close())

  test('a preflight from an allowed origin is answered before any auth, with credentials', async () => {
    const res = await fetch(`${base}/api/v1/meta/metrics`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.lucid.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization'
      }
    })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.lucid.test')
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/i)
  })

  test('a preflight from another origin gets no Access-Control-Allow-* headers', async () => {
    const res = await fetch(`${base}/api/v1/meta/metrics`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' }
    })
    const allow = [...res.headers.keys()].filter((k) => k.startsWith('access-control-allow'))
    assert.deepEqual(allow, [])
  })
})
