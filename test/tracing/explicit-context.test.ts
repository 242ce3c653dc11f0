/**
 * TRACING_CONTEXT=explicit: no AsyncLocalStorage context manager is installed (node:test runs this
 * file in a process of its own, and every gateway in it is explicit), and the trace still holds
 * together because the pipeline, the upstream client and the job runner hand the context on by
 * argument. What the mode gives up — database and Redis spans — is asserted too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api'
import { request } from 'undici'
import { SPAN_KIND } from '../helpers/otlp-receiver.js'
import { chainSyncRun, tracedProxy } from './gateway.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/
const EXPLICIT = { TRACING_CONTEXT: 'explicit' }

test('explicit context: SERVER → CLIENT per attempt, the upstream gets the attempt’s context, no AsyncLocalStorage', async (t) => {
  const { receiver, up, gw, li } = await tracedProxy(t, { ...EXPLICIT, UPSTREAM_BREAKER_FAILURES: '1000' })
  const probe = createContextKey('probe')
  assert.equal(
    context.with(ROOT_CONTEXT.setValue(probe, 1), () => context.active()),
    ROOT_CONTEXT,
    'no context manager is installed: nothing carries a context implicitly'
  )

  const traceId = hex(16)
  const parentId = hex(8)
  const res = await request(`${gw.base}/api/v1/nodes/e1/status/503`, {
    headers: { ...li.auth, traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': 'explicit-1' }
  })
  assert.equal(res.statusCode, 503)
  await res.body.dump()
  const attempts = up.requests.filter((r) => r.url === '/api/v1/nodes/e1/status/503')
  assert.equal(attempts.length, 3, 'retried as in the default mode')
  const sent = attempts.map((a) => TRACEPARENT.exec(String(a.headers.traceparent)))
  assert.ok(
    sent.every((m) => m !== null && m[1] === traceId),
    'every attempt continued the client trace'
  )

  const spans = await receiver.waitFor(
    (s) =>
      s.filter((x) => x.traceId === traceId && x.kind === SPAN_KIND.client).length === 3 &&
      s.some((x) => x.traceId === traceId && x.kind === SPAN_KIND.server)
  )
  const server = spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server)!
  assert.equal(server.parentSpanId, parentId, 'the SERVER span hangs below the client span')
  assert.equal(server.attributes['user.id'], li.userId)
  const clients = spans.filter((s) => s.traceId === traceId && s.kind === SPAN_KIND.client)
  assert.deepEqual(
    clients.map((c) => c.spanId).sort(),
    sent.map((m) => m![2]).sort(),
    'the upstream saw exactly the attempt spans as parents'
  )
  for (const c of clients) assert.equal(c.parentSpanId, server.spanId, 'each attempt is a child of the request')
  assert.equal(
    spans.some((s) => s.attributes['db.system.name'] !== undefined),
    false,
    'explicit mode makes no database or Redis spans'
  )
  const access = gw.lines.find((l) => l.request_id === 'explicit-1' && l.msg === 'request completed')
  assert.equal(access?.trace_id, traceId, 'the access line names the same trace')
})

test('explicit context: a job run is a root span and its lucid_blocks calls are its children', async (t) => {
  const { receiver, calls } = await chainSyncRun(t, EXPLICIT)
  assert.ok(calls.length > 0, 'the sync job called lucid_blocks')
  const ids = calls.map((c) => TRACEPARENT.exec(String(c.headers.traceparent)))
  assert.ok(
    ids.every((m) => m !== null),
    'every job call carried a traceparent'
  )
  const spans = await receiver.waitFor(
    (s) => s.some((x) => x.name === 'job chain-sync') && ids.every((m) => s.some((x) => x.spanId === m![2]))
  )
  const job = spans.find((s) => s.name === 'job chain-sync')!
  assert.equal(job.parentSpanId, '', 'a root span')
  for (const m of ids) {
    assert.equal(m![1], job.traceId, 'the call is in the job’s trace')
    assert.equal(spans.find((s) => s.spanId === m![2])?.parentSpanId, job.spanId, 'a child of the job span')
  }
})
