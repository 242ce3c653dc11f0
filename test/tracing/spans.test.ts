import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import WebSocket from 'ws'
import { login } from '../helpers/identity.js'
import { startEchoServer } from '../support/stand-ins.js'
import { SPAN_KIND, startOtlpReceiver, tracingEnv, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { chainSyncRun, listeningGateway, tracedProxy } from './gateway.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/
const byId = (spans: ReceivedSpan[], id: string) => spans.find((s) => s.spanId === id)
const upstreamAttempts = (spans: ReceivedSpan[], traceId: string) =>
  spans.filter(
    (s) => s.traceId === traceId && s.kind === SPAN_KIND.client && s.attributes['lucid.upstream.name'] !== undefined
  )

test('a proxied request continues the client trace; the upstream receives the CLIENT span’s context', async (t) => {
  const { receiver, up, gw, li } = await tracedProxy(t)
  const traceId = hex(16)
  const parentId = hex(8)
  const sent = `00-${traceId}-${parentId}-01`
  const res = await request(`${gw.base}/api/v1/nodes/n1/status?token=query-secret-123`, {
    headers: { ...li.auth, traceparent: sent, tracestate: 'vendor=abc', 'x-request-id': 'trace-req-1' }
  })
  assert.equal(res.statusCode, 200)
  await res.body.dump()

  const seen = up.requests.find((r) => r.url.startsWith('/api/v1/nodes/n1/status'))
  assert.ok(seen, 'the upstream was called')
  const upstreamParent = TRACEPARENT.exec(String(seen.headers.traceparent))
  assert.ok(upstreamParent, `upstream got a valid traceparent: ${seen.headers.traceparent}`)
  assert.notEqual(seen.headers.traceparent, sent, 'the client header is not forwarded verbatim')
  assert.equal(upstreamParent[1], traceId, 'same trace')
  assert.equal(seen.headers.tracestate, 'vendor=abc', 'the client tracestate travels with the trace')

  const spans = await receiver.waitFor(
    (s) =>
      s.some((x) => x.kind === SPAN_KIND.server && x.traceId === traceId) &&
      s.some((x) => x.spanId === upstreamParent[2])
  )
  const server = spans.find((s) => s.kind === SPAN_KIND.server && s.traceId === traceId)!
  assert.equal(server.parentSpanId, parentId, 'the SERVER span hangs below the client span')
  assert.equal(server.name, 'GET /api/v1/nodes/*')
  assert.equal(server.attributes['http.request.method'], 'GET')
  assert.equal(server.attributes['http.route'], '/api/v1/nodes/*')
  assert.equal(server.attributes['http.response.status_code'], 200)
  assert.equal(server.attributes['url.path'], '/api/v1/nodes/n1/status')
  assert.equal(server.attributes['client.address'], '127.0.0.1')
  assert.equal(server.attributes['user.id'], li.userId)
  assert.equal(server.attributes['lucid.request_id'], 'trace-req-1')
  assert.equal(server.resource['service.name'], 'gateway-under-test')

  const client = byId(spans, upstreamParent[2])!
  assert.equal(client.kind, SPAN_KIND.client, 'the upstream saw the CLIENT span as its parent')
  assert.equal(client.traceId, traceId)
  assert.equal(client.parentSpanId, server.spanId)
  assert.equal(client.attributes['server.address'], '127.0.0.1')
  assert.equal(client.attributes['server.port'], up.port)
  assert.equal(client.attributes['lucid.upstream.name'], 'node_management')
  assert.equal(client.attributes['lucid.upstream.attempt'], 1)
  assert.equal(client.attributes['lucid.circuit_breaker.state'], 'closed')
  assert.equal(client.attributes['lucid.upstream.outcome'], 'success')
  assert.equal(client.attributes['http.response.status_code'], 200)

  // Every stage's time is on the SERVER span; a stage is a span of its own only when it costs
  // time (STAGE_SPAN_MIN_MS, or I/O inside: see the API-key test below).
  for (const stage of ['auth', 'limit', 'upstream']) {
    assert.equal(typeof server.attributes[`lucid.stage.${stage}_ms`], 'number', `${stage} time recorded`)
    const s = spans.find((x) => x.traceId === traceId && x.name === stage)
    if (s !== undefined) assert.equal(s.parentSpanId, server.spanId)
  }
  const text = JSON.stringify(spans)
  assert.ok(!text.includes(li.access), 'no token on any span')
  assert.ok(!text.includes('query-secret-123'), 'no query string on any span')

  // The access line names the same trace and span as the exported SERVER span.
  const access = gw.lines.find((l) => l.request_id === 'trace-req-1' && l.msg === 'request completed')
  assert.ok(access, 'access line written')
  assert.equal(access.trace_id, traceId)
  assert.equal(access.span_id, server.spanId)
})

test('a retried request shows one CLIENT span per attempt; a malformed traceparent starts a new trace', async (t) => {
  const { receiver, up, gw, li } = await tracedProxy(t, { UPSTREAM_BREAKER_FAILURES: '1000' })
  const bad = '00-zzzz-not-a-trace-01'
  const res = await request(`${gw.base}/api/v1/nodes/r1/status/503`, {
    headers: { ...li.auth, traceparent: bad, 'x-request-id': 'retried-1' }
  })
  assert.equal(res.statusCode, 503, 'the upstream 503 passes through after the retries')
  await res.body.dump()
  const attempts = up.requests.filter((r) => r.url === '/api/v1/nodes/r1/status/503')
  assert.equal(attempts.length, 3, 'tried three times')
  const ids = attempts.map((a) => TRACEPARENT.exec(String(a.headers.traceparent)))
  assert.ok(
    ids.every((m) => m !== null),
    'each attempt carried a valid traceparent'
  )
  assert.equal(new Set(ids.map((m) => m![1])).size, 1, 'one trace')
  assert.equal(new Set(ids.map((m) => m![2])).size, 3, 'each attempt its own span')

  const traceId = ids[0]![1]
  const spans = await receiver.waitFor(
    (s) =>
      upstreamAttempts(s, traceId).length === 3 && s.some((x) => x.traceId === traceId && x.kind === SPAN_KIND.server)
  )
  const server = spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server)!
  assert.equal(server.parentSpanId, '', 'malformed traceparent ignored: the SERVER span is a root')
  assert.equal(server.attributes['http.response.status_code'], 503)
  assert.equal(server.status.code, 2, 'a 5xx marks the SERVER span as an error')
  const clients = upstreamAttempts(spans, traceId).sort(
    (a, b) => Number(a.attributes['lucid.upstream.attempt']) - Number(b.attributes['lucid.upstream.attempt'])
  )
  assert.deepEqual(
    clients.map((c) => c.attributes['lucid.upstream.attempt']),
    [1, 2, 3]
  )
  assert.deepEqual(
    clients.map((c) => c.attributes['http.request.resend_count']),
    [undefined, 1, 2]
  )
  assert.deepEqual(
    clients.map((c) => c.attributes['lucid.upstream.outcome']),
    ['http_503', 'http_503', 'http_503']
  )
  assert.deepEqual(
    clients.map((c) => c.spanId).sort(),
    ids.map((m) => m![2]).sort(),
    'the upstream saw exactly these spans as parents'
  )
  for (const c of clients) assert.equal(c.parentSpanId, server.spanId)
  const access = gw.lines.find((l) => l.request_id === 'retried-1' && l.msg === 'request completed')
  assert.equal(access?.trace_id, traceId)
})

test('a job run is a root span and its lucid_blocks calls are traced and propagated', async (t) => {
  const { receiver, calls } = await chainSyncRun(t)
  assert.ok(calls.length > 0, 'the sync job called lucid_blocks')
  const tp = TRACEPARENT.exec(String(calls[0].headers.traceparent))
  assert.ok(tp, 'the job call carried a traceparent')
  const spans = await receiver.waitFor(
    (s) => s.some((x) => x.name === 'job chain-sync') && s.some((x) => x.spanId === tp[2])
  )
  const job = spans.find((s) => s.name === 'job chain-sync')!
  assert.equal(job.parentSpanId, '', 'a root span')
  assert.equal(job.traceId, tp[1])
  const client = byId(spans, tp[2])!
  assert.equal(client.kind, SPAN_KIND.client)
  assert.equal(client.parentSpanId, job.spanId)
  assert.equal(client.attributes['lucid.upstream.name'], 'lucid_blocks')
  // The job's database work (the block upserts) hangs in the same trace.
  assert.ok(
    spans.some((s) => s.traceId === job.traceId && s.attributes['db.system.name'] === 'postgresql'),
    'database spans in the job trace'
  )
})

test('WebSocket upgrades carry the trace: the upstream gets a child of the client traceparent', async (t) => {
  const { receiver, up, gw, li } = await tracedProxy(t)
  // Node management's upgrades need its write role, node_operator (issue 12 finding 7).
  await gw.app.db.query("UPDATE users SET role = 'node_operator', updated_at = now() WHERE user_id = $1", [li.userId])
  await gw.app.identity.userChanged(li.userId)
  const traceId = hex(16)
  const parentId = hex(8)
  const ws = new WebSocket(`${gw.base.replace('http', 'ws')}/api/v1/nodes/stream`, {
    headers: { ...li.auth, traceparent: `00-${traceId}-${parentId}-01` }
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.close()
  const seen = up.requests.find((r) => r.method === 'UPGRADE' && r.url === '/api/v1/nodes/stream')
  assert.ok(seen, 'the upstream accepted the upgrade')
  const tp = TRACEPARENT.exec(String(seen.headers.traceparent))
  assert.ok(tp, `upgrade carried a traceparent: ${seen.headers.traceparent}`)
  assert.equal(tp[1], traceId)
  assert.notEqual(tp[2], parentId, 'the gateway’s own span is the parent, not the client’s')
  const spans = await receiver.waitFor((s) => s.some((x) => x.spanId === tp[2]))
  const client = byId(spans, tp[2])!
  assert.equal(client.kind, SPAN_KIND.client)
  assert.equal(client.parentSpanId, parentId)
  assert.equal(client.attributes['http.response.status_code'], 101)
})

test('tracing off: no spans, no trace ids in the log, the client traceparent passes through', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  const gw = await listeningGateway({ NODE_SERVICE_URL: up.url })
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  assert.equal(gw.app.tracing, undefined)
  const li = await login(gw.app)
  const sent = `00-${hex(16)}-${hex(8)}-01`
  const res = await request(`${gw.base}/api/v1/nodes/off`, {
    headers: { ...li.auth, traceparent: sent, 'x-request-id': 'untraced-1' }
  })
  assert.equal(res.statusCode, 200)
  await res.body.dump()
  assert.equal(
    up.requests.find((r) => r.url === '/api/v1/nodes/off')?.headers.traceparent,
    sent,
    'a plain proxy: the header is forwarded as the client sent it'
  )
  const access = gw.lines.find((l) => l.request_id === 'untraced-1' && l.msg === 'request completed')
  assert.ok(access)
  assert.equal(access.trace_id, undefined)
  assert.equal(access.span_id, undefined)
  const metrics = await (await request(`${gw.base}/metrics`)).body.text()
  assert.match(
    metrics,
    /otel_spans_dropped_total\{reason="queue_full"\} 0/,
    'the drop counter is exported (zero) even with tracing off'
  )
})

test('own routes: their database queries and Redis commands are child spans of the request', async (t) => {
  const receiver = await startOtlpReceiver()
  const gw = await listeningGateway(tracingEnv(receiver))
  t.after(async () => {
    await gw.close()
    await receiver.close()
  })
  await login(gw.app)
  const spans = await receiver.waitFor((s) => s.some((x) => x.attributes['http.route'] === '/api/v1/auth/login'))
  const under = (route: string) => {
    const server = spans.find((s) => s.attributes['http.route'] === route)!
    // Everything whose chain of parents reaches this request's SERVER span.
    const reaches = (s: ReceivedSpan): boolean =>
      s.parentSpanId === server.spanId ||
      (s.parentSpanId !== '' && byId(spans, s.parentSpanId) !== undefined && reaches(byId(spans, s.parentSpanId)!))
    return spans.filter((s) => s.traceId === server.traceId && reaches(s))
  }
  const loginSpans = under('/api/v1/auth/login')
  const insert = loginSpans.find((s) => s.name === 'INSERT' && s.attributes['db.system.name'] === 'postgresql')
  assert.ok(insert, 'the login’s INSERT is a span of the request')
  assert.equal(insert.kind, SPAN_KIND.client)
  assert.match(String(insert.attributes['db.query.text']), /^INSERT INTO /)
  assert.ok(!JSON.stringify(loginSpans).includes('"signature"'), 'query parameters never reach a span')
  const redis = under('/api/v1/auth/challenge').filter((s) => s.attributes['db.system.name'] === 'redis')
  if (process.env.REDIS_URL !== undefined) {
    assert.deepEqual(
      redis.map((s) => s.name),
      ['SET'],
      'the nonce stored in Redis'
    )
    assert.equal(JSON.stringify(redis).includes('challenge:'), false, 'keys stay off the span')
  } else assert.equal(redis.length, 0, 'the in-process store is not traced')
})

test('a stage that does I/O becomes a span holding it: API-key authentication and its query', async (t) => {
  const { receiver, up, gw, li } = await tracedProxy(t)
  const created = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/users/me/api-keys',
    headers: li.auth,
    payload: { name: 'traced', expires_in_days: 1 }
  })
  assert.equal(created.statusCode, 201)
  const key = created.json().key as string
  const res = await request(`${gw.base}/api/v1/nodes/by-key`, { headers: { 'x-api-key': key } })
  assert.equal(res.statusCode, 200)
  await res.body.dump()
  const traceId = TRACEPARENT.exec(
    String(up.requests.find((r) => r.url === '/api/v1/nodes/by-key')?.headers.traceparent)
  )![1]
  const spans = await receiver.waitFor((s) => s.some((x) => x.traceId === traceId && x.kind === SPAN_KIND.server))
  const server = spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server)!
  const auth = spans.find((s) => s.traceId === traceId && s.name === 'auth')
  assert.ok(auth, 'the auth stage looked the key up in the database: a span')
  assert.equal(auth.parentSpanId, server.spanId)
  const lookup = spans.find((s) => s.parentSpanId === auth.spanId && s.attributes['db.system.name'] === 'postgresql')
  assert.ok(lookup, 'the key lookup hangs below the auth span')
  assert.match(String(lookup.attributes['db.query.text']), /api_keys/)
  assert.ok(!JSON.stringify(spans).includes(key), 'the API key never reaches a span')

  // A refused credential makes the stage a span too, marked as failed.
  const bad = await request(`${gw.base}/api/v1/nodes/by-key`, {
    headers: { authorization: 'Bearer a.b.c', 'x-request-id': 'bad-token-1' }
  })
  assert.equal(bad.statusCode, 401)
  await bad.body.dump()
  const failed = await receiver.waitFor((s) => s.some((x) => x.attributes['lucid.request_id'] === 'bad-token-1'))
  const badServer = failed.find((s) => s.attributes['lucid.request_id'] === 'bad-token-1')!
  assert.equal(badServer.attributes['lucid.error.code'], 'LUCID_ERR_2003')
  const badAuth = await receiver.waitFor((s) => s.some((x) => x.traceId === badServer.traceId && x.name === 'auth'))
  const authSpan = badAuth.find((x) => x.traceId === badServer.traceId && x.name === 'auth')!
  assert.equal(authSpan.status.code, 2, 'error status')
  assert.equal(authSpan.attributes['error.type'], 'LUCID_ERR_2003')
})
