import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { ConfigError, loadConfig } from '../../src/config.js'
import { maskedConfig } from '../../src/cli/mask.js'
import { SPAN_KIND, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { tracedProxy } from './gateway.js'

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n')
    throw err
  }
  return ''
}

test('the OTEL_* and SERVER_TIMING* settings are validated, every message naming its variable', () => {
  const text = problems({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '1.5',
    OTEL_RESOURCE_ATTRIBUTES: 'team=core,broken',
    OTEL_BSP_MAX_QUEUE_SIZE: '0',
    SERVER_TIMING: 'header',
    SERVER_TIMING_HEADER: 'Authorization'
  })
  assert.match(text, /OTEL_EXPORTER_OTLP_ENDPOINT must use http: or https:/)
  assert.match(text, /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json .*got "grpc"/)
  assert.match(text, /OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1/)
  assert.match(text, /OTEL_RESOURCE_ATTRIBUTES entry "broken" must be key=value/)
  assert.match(text, /OTEL_BSP_MAX_QUEUE_SIZE must be an integer between 1 and/)
  assert.match(text, /SERVER_TIMING_HEADER must not be "authorization"/)
  assert.match(text, /SERVER_TIMING_SECRET \(at least 16 characters\) is required when SERVER_TIMING=header/)
  assert.match(
    problems({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }),
    /OTEL_TRACES_SAMPLER must be one of always_on, .*parentbased_traceidratio, got "jaeger_remote"/
  )
  assert.match(problems({ SERVER_TIMING: 'sometimes' }), /SERVER_TIMING must be off, admin or header/)
  assert.match(
    problems({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' }),
    /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http\/protobuf or http\/json/
  )
  assert.match(problems({ TRACING_CONTEXT: 'zone' }), /TRACING_CONTEXT must be async or explicit, got "zone"/)
  const mode = (env: Record<string, string>) => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env })
  assert.equal(mode({}).tracing.context, 'async', 'AsyncLocalStorage by default: every query is a span')
  assert.equal(mode({ TRACING_CONTEXT: 'explicit' }).tracing.context, 'explicit')
})

test('the export protocol: http/protobuf by default (spec), the traces variable wins over the general one', () => {
  const protocol = (env: Record<string, string>) =>
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env }).tracing.protocol
  assert.equal(protocol({}), 'http/protobuf')
  assert.equal(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), 'http/json')
  assert.equal(
    protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }),
    'http/protobuf'
  )
  assert.equal(protocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }), 'http/json')
})

test('endpoints as the spec says: base + /v1/traces, the signal endpoint as given; off without one', () => {
  assert.equal(loadConfig({}).tracing.tracesUrl, undefined, 'off by default')
  assert.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.tracesUrl,
    'http://collector:4318/v1/traces'
  )
  assert.equal(
    loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/traces'
    }).tracing.tracesUrl,
    'https://tempo.example/otlp/traces'
  )
  assert.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing.tracesUrl,
    undefined
  )
  const c = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.name=gw-1,team=a%2Cb',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=collector-key-123'
  })
  assert.deepEqual(c.tracing.resourceAttributes, { 'k8s.pod.name': 'gw-1', team: 'a,b' })
  assert.equal(c.tracing.sampler, 'parentbased_always_on')
  // config print never shows the collector credentials or the timing secret.
  const printed = JSON.stringify(
    maskedConfig(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=collector-key-123',
        SERVER_TIMING: 'header',
        SERVER_TIMING_SECRET: 'timing-secret-0123456789'
      })
    )
  )
  assert.ok(!printed.includes('collector-key-123') && !printed.includes('timing-secret-0123456789'), printed)
})

test('parent-based sampling is honoured: an unsampled parent exports nothing and tells the upstream so', async (t) => {
  // Root traces are never sampled here; only a sampled parent turns sampling on.
  const sampler = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }
  const { receiver, up, gw, li } = await tracedProxy(t, sampler)
  const unsampled = randomBytes(16).toString('hex')
  const sampled = randomBytes(16).toString('hex')
  for (const [trace, flags, path] of [
    [unsampled, '00', 'u'],
    [sampled, '01', 's']
  ]) {
    const res = await request(`${gw.base}/api/v1/nodes/${path}`, {
      headers: {
        ...li.auth,
        traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-${flags}`,
        'x-request-id': `sampling-${path}`
      }
    })
    assert.equal(res.statusCode, 200)
    await res.body.dump()
  }
  const upU = String(up.requests.find((r) => r.url === '/api/v1/nodes/u')?.headers.traceparent)
  assert.match(upU, new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`), 'the upstream is told: same trace, not sampled')
  assert.match(
    String(up.requests.find((r) => r.url === '/api/v1/nodes/s')?.headers.traceparent),
    new RegExp(`^00-${sampled}-[0-9a-f]{16}-01$`)
  )
  const spans = await receiver.waitFor((s) => s.some((x) => x.traceId === sampled && x.kind === SPAN_KIND.server))
  await gw.app.tracing?.shutdown()
  assert.equal(spans.filter((s) => s.traceId === unsampled).length, 0, 'nothing of the unsampled trace was exported')
  assert.equal(
    spans.filter((s) => s.attributes['http.route'] === '/api/v1/auth/login').length,
    0,
    'root requests (the login) were not sampled'
  )
  // The log still names the trace of an unsampled request, so it can be followed downstream.
  assert.equal(
    gw.lines.find((l) => l.request_id === 'sampling-u' && l.msg === 'request completed')?.trace_id,
    unsampled
  )
})

test('both OTLP/HTTP encodings reach a collector: protobuf by default, JSON on request', async (t) => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    const env: Record<string, string> = protocol === 'http/json' ? { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol } : {}
    const { receiver, gw, li } = await tracedProxy(t, env)
    const traceId = randomBytes(16).toString('hex')
    const res = await request(`${gw.base}/api/v1/nodes/enc/status`, {
      headers: { ...li.auth, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }
    })
    assert.equal(res.statusCode, 200)
    await res.body.dump()
    const upstream = (x: ReceivedSpan) => x.traceId === traceId && x.attributes['lucid.upstream.name'] !== undefined
    const spans = await receiver.waitFor(
      (s) => s.some((x) => x.traceId === traceId && x.kind === SPAN_KIND.server) && s.some(upstream)
    )
    const wanted = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf'
    assert.deepEqual(new Set(receiver.contentTypes), new Set([wanted]), `${protocol}: every export as ${wanted}`)
    const server = spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server)!
    const client = spans.find(upstream)!
    assert.equal(client.kind, SPAN_KIND.client, protocol)
    assert.equal(server.name, 'GET /api/v1/nodes/*', protocol)
    assert.equal(server.attributes['http.response.status_code'], 200, protocol)
    assert.equal(server.attributes['user.id'], li.userId, protocol)
    assert.equal(server.resource['service.name'], 'gateway-under-test', protocol)
    assert.equal(client.name, 'GET', protocol)
    assert.equal(client.parentSpanId, server.spanId, protocol)
    assert.equal(client.attributes['lucid.upstream.attempt'], 1, protocol)
  }
})
