import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

/** A TCP server that answers every request with bytes that are not HTTP, counting the requests. */
async function garbageServer(opts: {
  close: boolean
}): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (data) => {
      if (!data.toString('latin1').includes('\r\n\r\n')) return
      requests++
      socket.write('SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n')
      if (opts.close) socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

for (const close of [true, false]) {
  test(`an upstream answering bytes that are not HTTP (${close ? 'then closing' : 'keeping the connection'}) is 502/5003 at once, never retried`, async (t) => {
    const bad = await garbageServer({ close })
    const gw = await buildTestApp({ env: { NODE_SERVICE_URL: bad.url, UPSTREAM_BREAKER_FAILURES: '1000' } })
    t.after(async () => {
      await gw.close()
      await bad.close()
    })
    const user = await login(gw.app)
    // A GET is retryable: an outage would be retried, a bad answer must not be.
    const res = await gw.app.inject({ url: '/api/v1/nodes/n-1', headers: user.auth })
    assert.equal(res.statusCode, 502, res.body)
    assert.equal(res.json().error.code, 'LUCID_ERR_5003')
    assert.equal(res.json().error.details.upstream, 'node_management')
    assert.equal(bad.requests(), 1, 'one attempt only')
    assert.match(
      (await gw.app.inject({ url: '/metrics' })).body,
      /upstream_requests_total\{upstream="node_management",outcome="bad_response"\} 1/
    )
  })
}
