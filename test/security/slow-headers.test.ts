/**
 * Issue 12 finding 10: headers trickled one byte at a time were cut only after ~100 s (a 75 s
 * HEADERS_TIMEOUT_MS checked every 30 s). Now the default is 10 s, checked every second, and the
 * client gets 408/1011 in the envelope with a request id and the security headers. Real sockets.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { buildTestApp } from '../helpers/app.js'

test('headers trickled byte by byte get 408/1011 in the envelope within the default 10 s (+1 s)', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (gw.app.server.address() as net.AddressInfo).port
  assert.equal(gw.config.headersTimeoutMs, 10_000, 'the default')

  const started = performance.now()
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET /api/v1/meta/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
  const drip = setInterval(() => socket.writable && socket.write('a'), 500)
  t.after(() => {
    clearInterval(drip)
    socket.destroy()
  })
  let text = ''
  socket.on('data', (d) => (text += d))
  socket.on('error', () => undefined)
  await new Promise((resolve) => socket.once('close', resolve))
  const ms = performance.now() - started

  assert.ok(ms > 9_000 && ms < 20_000, `cut after ${Math.round(ms)} ms`)
  assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  assert.match(text, /\r\nx-request-id: [0-9a-f-]{36}\r\n/)
  assert.match(text, /\r\nx-content-type-options: nosniff\r\n/)
  assert.match(text, /\r\ncontent-security-policy: default-src 'none'; frame-ancestors 'none'\r\n/)
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as {
    error: { code: string; service: string; request_id: string }
  }
  assert.equal(body.error.code, 'LUCID_ERR_1011')
  assert.equal(body.error.service, 'api-gateway')
  assert.match(text, new RegExp(`x-request-id: ${body.error.request_id}`))
})
