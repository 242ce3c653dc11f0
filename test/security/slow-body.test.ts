/**
 * Issue 12 finding 3: slow request bodies filled the in-flight cap and got unrelated clients 503.
 * Now one client holds at most its share of the process (a quarter of LOAD_SHED_MAX_IN_FLIGHT), and
 * a body that does not arrive at REQUEST_BODY_MIN_BYTES_PER_S after REQUEST_BODY_TIMEOUT_MS is cut
 * with 408/1011 in the envelope. Real gateway, real sockets; 127.0.0.x are distinct client IPs.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'
import { startEchoServer } from '../support/stand-ins.js'

interface Trickler {
  /** Everything the gateway answered, once it closed the connection. */
  answer: Promise<{ text: string; atMs: number }>
  stop(): void
}

/** Sends headers announcing `length` bytes, then one byte every `everyMs`. */
function trickle(
  port: number,
  ip: string,
  path: string,
  o: { length?: number; everyMs?: number; headers?: Record<string, string> } = {}
): Trickler {
  const started = performance.now()
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: ip })
  const extra = Object.entries(o.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${o.length ?? 1000}\r\n${extra}\r\n{`
  )
  const timer = setInterval(() => socket.writable && socket.write(' '), o.everyMs ?? 1_000)
  let text = ''
  socket.on('data', (d) => (text += d))
  socket.on('error', () => undefined)
  const answer = new Promise<{ text: string; atMs: number }>((resolve) =>
    socket.once('close', () => resolve({ text, atMs: performance.now() - started }))
  )
  void answer.then(() => clearInterval(timer))
  return { answer, stop: () => socket.destroy() }
}

async function listen(env: Record<string, string>): Promise<{ gw: TestApp; port: number }> {
  const gw = await buildTestApp({ env })
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  return { gw, port: (gw.app.server.address() as net.AddressInfo).port }
}

const getStatus = async (port: number, ip: string) => {
  const agent = new Agent({ localAddress: ip })
  try {
    const res = await request(`http://127.0.0.1:${port}/api/v1/meta/version`, {
      dispatcher: agent,
      headersTimeout: 10_000
    })
    await res.body.dump()
    return res.statusCode
  } finally {
    await agent.close()
  }
}

test('45 trickled bodies from one client (cap 40) do not get others a 503; each is cut with 408/1011', async (t) => {
  const { gw, port } = await listen({ LOAD_SHED_MAX_IN_FLIGHT: '40' })
  const slow = Array.from({ length: 45 }, () => trickle(port, '127.0.0.21', '/api/v1/auth/challenge'))
  t.after(async () => {
    slow.forEach((s) => s.stop())
    await gw.close()
  })
  await sleep(1_500)
  for (let i = 0; i < 5; i++) assert.equal(await getStatus(port, '127.0.0.22'), 200, 'an unrelated client is served')

  const answers = await Promise.all(slow.map((s) => s.answer))
  const cut = answers.filter((a) => a.text.startsWith('HTTP/1.1 408'))
  // At most a quarter of the cap (10) got in; the rest waited in their client's queue and were
  // refused with 429 when its wait ran out, or cut with 408 once admitted.
  assert.ok(cut.length >= 10, `${cut.length} of 45 cut with 408`)
  for (const a of answers) assert.match(a.text, /^HTTP\/1\.1 (408|429) /, 'every trickler got an answer, never 503')
  const first = cut[0].text
  const body = JSON.parse(first.slice(first.indexOf('\r\n\r\n') + 4)) as { error: { code: string; request_id: string } }
  assert.equal(body.error.code, 'LUCID_ERR_1011')
  assert.match(first, /x-request-id: /i)
  assert.match(first, /x-content-type-options: nosniff/i)
  assert.match(first, /connection: close/i)
  // Default allowance: 10 s plus one second per KiB received, counted from admission (a queued
  // request waits for its slot first); never cut before it.
  for (const a of cut) assert.ok(a.atMs > 9_000 && a.atMs < 40_000, `cut after ${Math.round(a.atMs)} ms`)
})

test('with the default cap (384), two client IPs trickling 200 bodies each do not exhaust it', async (t) => {
  const { gw, port } = await listen({})
  const slow = [
    ...Array.from({ length: 200 }, () => trickle(port, '127.0.0.23', '/api/v1/auth/challenge')),
    ...Array.from({ length: 200 }, () => trickle(port, '127.0.0.24', '/api/v1/auth/challenge'))
  ]
  t.after(async () => {
    slow.forEach((s) => s.stop())
    await gw.close()
  })
  // Wait until every socket has sent its headers and been admitted or queued.
  for (let i = 0; i < 100; i++) {
    const { inFlight, queued } = gw.app.admission.stats()
    assert.ok(inFlight <= 2 * 96, `each client holds at most a quarter of the cap (${inFlight})`)
    if (inFlight + queued === 400) break
    await sleep(100)
  }
  assert.deepEqual(gw.app.admission.stats().inFlight, 2 * 96)
  for (let i = 0; i < 5; i++) assert.equal(await getStatus(port, '127.0.0.25'), 200, 'a third client is served')
})

test('a slow proxied body gets 408, not a 503 charged to the upstream; an honest slow upload is not cut', async (t) => {
  const upstream = await startEchoServer({ name: 'wallets' })
  t.after(() => upstream.close())
  const { gw, port } = await listen({
    TRON_PAYMENT_URL: upstream.url,
    REQUEST_BODY_TIMEOUT_MS: '1000',
    REQUEST_BODY_MIN_BYTES_PER_S: '1024'
  })
  t.after(() => gw.close())
  const li = await login(gw.app)
  const headers = { authorization: li.auth.authorization }

  // Six at once: were they charged to the upstream, five failures would open its breaker.
  const cuts = await Promise.all(
    Array.from(
      { length: 6 },
      (_, i) => trickle(port, `127.0.0.${30 + i}`, '/api/v1/wallets/upload', { headers, everyMs: 200 }).answer
    )
  )
  for (const cut of cuts) {
    assert.match(cut.text, /^HTTP\/1\.1 408 /)
    assert.match(cut.text, /LUCID_ERR_1011/)
    assert.ok(cut.atMs < 6_000, `cut after ${Math.round(cut.atMs)} ms (allowance 1 s + 1 s per KiB)`)
  }
  const after = await request(`http://127.0.0.1:${port}/api/v1/wallets/balance`, { headers })
  await after.body.dump()
  assert.equal(after.statusCode, 200, 'the upstream’s breaker stayed closed')

  // 6 KiB at about 2 KiB/s: three times the base allowance, but above the minimum rate.
  const res = await request(`http://127.0.0.1:${port}/api/v1/wallets/upload-honest`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: Readable.from(
      (async function* () {
        for (let i = 0; i < 6; i++) {
          yield Buffer.alloc(1024, 97)
          await sleep(500)
        }
      })()
    )
  })
  assert.equal(res.statusCode, 200)
  await res.body.dump()
  assert.equal(upstream.requests.find((r) => r.url === '/api/v1/wallets/upload-honest')?.body_bytes, 6 * 1024)
})
