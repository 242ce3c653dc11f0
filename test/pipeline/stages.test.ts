/**
 * The request pipeline's stages as plain functions (src/pipeline), without a server: what each
 * decides from the values it is given. The gateway-level behaviour is covered by test/security.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { LucidError } from '../../src/errors.js'
import { createIdentify, createHttpsRedirect } from '../../src/pipeline/identify.js'
import { admitRequest, closeAfterEarlyError } from '../../src/pipeline/admit.js'
import { createResponseHeaders } from '../../src/pipeline/respond.js'
import { accessLine } from '../../src/pipeline/record.js'
import { API_CSP, DOCS_CSP } from '../../src/http/security-headers.js'

const req = (headers: Record<string, string>, peer = '203.0.113.9', encrypted = false) =>
  ({ headers, socket: { remoteAddress: peer, encrypted } }) as unknown as IncomingMessage

test('identify: spoofable headers go, X-Forwarded-* only from a configured proxy; a host not allowed is refused', () => {
  const identify = createIdentify({ allowedHosts: ['gw.example'], trustProxy: ['10.0.0.1'] })
  const untrusted = req({ 'x-http-method-override': 'DELETE', 'x-forwarded-for': '1.2.3.4', host: 'gw.example' })
  assert.equal(identify(untrusted, 'gw.example'), undefined)
  assert.deepEqual(untrusted.headers, { host: 'gw.example' })
  const proxied = req({ 'x-forwarded-for': '1.2.3.4', 'x-real-ip': '5.6.7.8' }, '10.0.0.1')
  assert.equal(identify(proxied, 'GW.example'), undefined)
  assert.deepEqual(proxied.headers, { 'x-forwarded-for': '1.2.3.4' })
  const refused = identify(req({}), 'evil.example')
  assert.ok(refused instanceof LucidError)
  assert.equal(refused.statusCode, 400)
  assert.deepEqual(refused.details, { host: 'evil.example' })
})

test("identify: the HTTPS redirect goes to PUBLIC_URL's host, never a forged one; probes and TLS stay", () => {
  const redirect = createHttpsRedirect({ publicUrl: 'https://gw.example', httpsPort: 8443 })
  assert.equal(
    redirect(req({}), '/api/v1/meta/version?x=1', 'evil.example'),
    'https://gw.example/api/v1/meta/version?x=1'
  )
  assert.equal(redirect(req({}), '/health?full=1', 'gw.example'), undefined)
  assert.equal(redirect(req({}, '203.0.113.9', true), '/api/v1/x', 'gw.example'), undefined)
  assert.equal(createHttpsRedirect({ httpsPort: 8443 })(req({}), '/a', 'gw.example'), 'https://gw.example:8443/a')
})

test('admit: a refusal reaches next; a ticket is held until the response finishes', () => {
  const res = new EventEmitter() as unknown as ServerResponse
  const refusal = new LucidError('SERVICE_UNAVAILABLE')
  let got: Error | undefined
  admitRequest(
    () => {
      throw refusal
    },
    '1.2.3.4',
    res,
    (err) => (got = err)
  )
  assert.equal(got, refusal)
  let released = 0
  let called = 0
  admitRequest(
    () => ({ release: () => released++ }),
    '1.2.3.4',
    res,
    (err) => {
      assert.equal(err, undefined)
      called++
    }
  )
  assert.equal(called, 1)
  assert.equal(released, 0)
  res.emit('finish')
  assert.equal(released, 1)
})

test('admit: an error answered before the body was read closes the connection', () => {
  const body = { complete: false, headers: { 'content-length': '10' } } as unknown as IncomingMessage
  assert.equal(closeAfterEarlyError(413, body), true)
  assert.equal(closeAfterEarlyError(200, body), false)
  assert.equal(closeAfterEarlyError(413, { complete: false, headers: {} } as unknown as IncomingMessage), false)
})

test("respond: the API CSP, the docs CSP under the docs prefix, none over a route's own", () => {
  const headers = createResponseHeaders('/docs')
  const csp = (list: ReturnType<typeof headers>) => new Map(list).get('content-security-policy')
  assert.equal(csp(headers('/api/v1/x', false)), API_CSP)
  assert.equal(csp(headers('/docs/json', false)), DOCS_CSP)
  assert.equal(csp(headers('/docsx', false)), API_CSP)
  assert.equal(csp(headers('/docs', true)), undefined)
  assert.equal(new Map(headers('/docs', true)).get('x-frame-options'), 'DENY')
})

test('record: the access line has the path without its query', () => {
  const line = accessLine('r-1', {
    method: 'GET',
    route: '/ws',
    url: '/ws?access_token=secret',
    status: 101,
    elapsedMs: 1.234,
    ip: '1.2.3.4'
  })
  assert.equal(line.path, '/ws')
  assert.equal(line.request_id, 'r-1')
  assert.equal(line.duration_ms, 1.23)
  assert.ok(!JSON.stringify(line).includes('secret'))
})
