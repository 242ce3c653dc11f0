/**
 * Issue 12 intro: request smuggling held in the adversarial review (Node's llhttp parser refuses
 * ambiguous framing). This keeps it refused: over a real socket, a request with both
 * Content-Length and Transfer-Encoding, or with two different Content-Lengths, gets one 400 and the
 * connection is closed, so the request hidden in its body is never parsed or proxied.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startEchoServer, type StandIn } from '../support/stand-ins.js'

describe('ambiguous request framing', () => {
  let up: StandIn
  let t: TestApp
  let port: number
  let who: LoggedIn
  before(async () => {
    up = await startEchoServer({ name: 'node_management' })
    t = await buildTestApp({ env: { NODE_SERVICE_URL: up.url } })
    who = await login(t.app, { role: 'node_operator' })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    port = (t.app.server.address() as net.AddressInfo).port
  })
  after(async () => {
    await t.close()
    await up.close()
  })

  /** Writes raw bytes, returns everything the gateway sent until it closed the connection. */
  function raw(bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      let text = ''
      socket.setTimeout(5_000, () => socket.destroy(new Error('the gateway kept the connection open')))
      socket.on('data', (d) => (text += d.toString('latin1')))
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
      socket.end(bytes)
    })
  }
  const smuggled = (auth: string) =>
    `GET /api/v1/nodes/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\n\r\n`

  test('Content-Length with Transfer-Encoding (CL.TE / TE.CL) → one 400, nothing proxied', async () => {
    const hidden = smuggled(who.auth.authorization)
    const answer = await raw(
      `POST /api/v1/nodes/a HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${who.auth.authorization}\r\n` +
        `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`
    )
    assert.match(answer, /^HTTP\/1\.1 400 /)
    assert.equal(answer.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'exactly one response on the connection')
    assert.equal(up.requests.filter((r) => r.url.includes('smuggled') || r.url === '/api/v1/nodes/a').length, 0)
  })

  test('two different Content-Length headers → one 400, nothing proxied', async () => {
    const hidden = smuggled(who.auth.authorization)
    const answer = await raw(
      `POST /api/v1/nodes/b HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${who.auth.authorization}\r\n` +
        `Content-Length: 2\r\nContent-Length: ${2 + hidden.length}\r\n\r\n{}${hidden}`
    )
    assert.match(answer, /^HTTP\/1\.1 400 /)
    assert.equal(answer.match(/HTTP\/1\.1 \d{3}/g)?.length, 1)
    assert.equal(up.requests.filter((r) => r.url.includes('smuggled') || r.url === '/api/v1/nodes/b').length, 0)
  })
})
