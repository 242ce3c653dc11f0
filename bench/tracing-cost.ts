/**
 * CPU cost of tracing one proxied request (issue 17), without a load test: the tracing calls the
 * gateway makes for a proxied request — the SERVER span with its attributes, the auth/limit/upstream
 * stages, one CLIENT attempt span with `traceparent` injected into the upstream headers, the end of
 * both — run in a loop, and every span exported through the real batch processor and OTLP/HTTP
 * exporter to a receiver in this process on loopback. Reported as µs of process CPU (user + system,
 * export and GC included) per request, minus the same loop with tracing off, for each protocol;
 * plus the synchronous request-side part alone (what a request's latency sees).
 *
 *   node --import tsx bench/tracing-cost.ts [--requests=10000] [--rounds=5] [--compare=DIR]
 *
 * `--compare=DIR` also runs another copy of src/tracing (e.g. the previous commit's, copied into a
 * directory of the repository so its imports resolve), round for round interleaved with this one:
 * on a shared machine only an interleaved before/after is a fair comparison.
 *
 * Single process, a few seconds; the receiver only counts bytes, so its share is a few HTTP
 * requests per thousand spans.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { context } from '@opentelemetry/api'
import type { Tracing } from '../src/tracing/provider.js'
import type * as RequestModule from '../src/tracing/request.js'
import type { OtlpProtocol } from '../src/tracing/settings.js'
import type * as UpstreamModule from '../src/tracing/upstream.js'

const { values } = parseArgs({
  options: { requests: { type: 'string' }, rounds: { type: 'string' }, compare: { type: 'string' } }
})
const REQUESTS = Number(values.requests ?? 10_000)
const ROUNDS = Number(values.rounds ?? 5)
// Requests in flight at once; also the pacing unit. Small enough that no stage lasts the 1 ms
// that makes it a span of its own (STAGE_SPAN_MIN_MS): two spans a request, every time.
const CONCURRENCY = 8

let received = { requests: 0, bytes: 0 }
const receiver = http.createServer((req, res) => {
  req.on('data', (c: Buffer) => (received.bytes += c.length))
  req.on('end', () => {
    received.requests++
    res.writeHead(200, { 'content-type': String(req.headers['content-type']), 'content-length': '0' }).end()
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

interface Impl {
  label: string
  createTracing: typeof import('../src/tracing/provider.js').createTracing
  readTracingSettings: typeof import('../src/tracing/settings.js').readTracingSettings
  request: typeof RequestModule
  upstream: typeof UpstreamModule
}

async function load(label: string, dir: string): Promise<Impl> {
  const url = (f: string) => pathToFileURL(path.resolve(dir, f)).href
  return {
    label,
    createTracing: (await import(url('provider.ts'))).createTracing,
    readTracingSettings: (await import(url('settings.ts'))).readTracingSettings,
    request: await import(url('request.ts')),
    upstream: await import(url('upstream.ts'))
  }
}

const impls = [await load('this tree', path.join(import.meta.dirname, '../src/tracing'))]
if (values.compare !== undefined) impls.push(await load(values.compare, values.compare))

function tracingFor(impl: Impl, protocol: OtlpProtocol): Tracing {
  const problems: string[] = []
  const settings = impl.readTracingSettings(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_TRACES_SAMPLER: 'always_on',
      // Under load a batch fills (512 spans) long before the timer; a short timer only spares
      // each run's tail the default 5 s wait.
      OTEL_BSP_SCHEDULE_DELAY: '20'
    },
    problems
  )
  if (problems.length > 0) throw new Error(problems.join('; '))
  return impl.createTracing(settings, { version: 'bench', environment: 'bench', warn: () => undefined })!
}

const USER = { id: '7f0c3a52-5d1e-4b1c-9a53-2f1d1f0f9e11', role: 'user' }
let syncMs = 0

/** One proxied request as the gateway traces it; `sync` is the time spent in tracing calls. */
async function proxied(impl: Impl, tracing: Tracing | undefined, i: number): Promise<void> {
  const { endRequestTrace, inStage, startRequestTrace } = impl.request
  const { startAttempt } = impl.upstream
  const incoming = {
    host: 'gateway.example',
    'user-agent': 'wrk/4.2.0',
    accept: '*/*',
    authorization: 'Bearer x'
  }
  let t0 = performance.now()
  const rt = startRequestTrace(tracing, {
    method: 'GET',
    path: `/api/v1/nodes/n${i & 1023}/status`,
    scheme: 'http',
    clientAddress: '10.1.2.3',
    requestId: `req-${i}`,
    headers: incoming
  })
  syncMs += performance.now() - t0
  await context.with(rt.context, async () => {
    await inStage(rt, 'auth', async () => USER)
    await inStage(rt, 'limit', async () => true)
    await inStage(rt, 'upstream', async () => {
      const headers: Record<string, string> = { host: 'node-management:8095', 'user-agent': 'wrk/4.2.0', accept: '*/*' }
      t0 = performance.now()
      const span =
        tracing &&
        startAttempt(
          tracing,
          {
            upstream: 'node_management',
            origin: 'http://node-management:8095',
            method: 'GET',
            path: `/api/v1/nodes/n${i & 1023}/status?x=1`,
            attempt: 1,
            breaker: 'closed'
          },
          headers
        )
      span?.responded(200)
      syncMs += performance.now() - t0
    })
  })
  t0 = performance.now()
  endRequestTrace(rt, { status: 200, route: '/api/v1/nodes/*', userId: USER.id, role: USER.role })
  syncMs += performance.now() - t0
}

interface Result {
  cpuUs: number
  spansPerRequest: number
  syncUs: number
  bytesPerSpan: number
}

async function run(impl: Impl, tracing: Tracing | undefined, n: number): Promise<Result> {
  received = { requests: 0, bytes: 0 }
  syncMs = 0
  const spansBefore = tracing?.stats().exported ?? 0
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < n; i += CONCURRENCY) {
    const batch = []
    for (let j = i; j < i + CONCURRENCY && j < n; j++) batch.push(proxied(impl, tracing, j))
    await Promise.all(batch)
    // Keep what is queued below the bound (2048): a dropped span would be a cheap span.
    if (tracing !== undefined) {
      while (2 * (i + CONCURRENCY) - (tracing.stats().exported - spansBefore) > 1_024) await sleep(1)
    } else await tick()
  }
  if (tracing !== undefined) {
    while (tracing.stats().exported - spansBefore < 2 * n) await sleep(1)
  }
  const cpu = process.cpuUsage(cpu0)
  const stats = tracing?.stats()
  if (stats !== undefined && (stats.droppedQueueFull > 0 || stats.droppedExportFailed > 0))
    throw new Error(`spans dropped: ${JSON.stringify(stats)}`)
  return {
    cpuUs: (cpu.user + cpu.system) / n,
    spansPerRequest: stats === undefined ? 0 : (stats.exported - spansBefore) / n,
    syncUs: (syncMs * 1000) / n,
    bytesPerSpan: received.bytes / (2 * n)
  }
}

// The best round: other processes on a shared machine only ever add to a round's time.
const best = (xs: number[]) => Math.min(...xs)

/**
 * ns of CPU per async call (one `async` function awaited, which awaits once): what every promise
 * of the whole request path — Fastify, undici, the pipeline, not only tracing — pays once the
 * AsyncLocalStorage context manager is installed (Node 20 propagates its store by a promise hook).
 */
async function promiseCost(): Promise<number> {
  const step = async (i: number) => {
    await null
    return i
  }
  const rounds: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const n = 200_000
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < n; i++) await step(i)
    const cpu = process.cpuUsage(cpu0)
    rounds.push(((cpu.user + cpu.system) * 1000) / n)
  }
  return best(rounds)
}

// Tracing off first: no context manager is installed until a tracing runtime exists (as in the gateway).
await promiseCost()
const asyncCallOff = await promiseCost()
await run(impls[0], undefined, REQUESTS)
const off: number[] = []
for (let r = 0; r < ROUNDS; r++) off.push((await run(impls[0], undefined, REQUESTS)).cpuUs)

const PROTOCOLS: OtlpProtocol[] = ['http/json', 'http/protobuf']
const cases = impls.flatMap((impl) =>
  PROTOCOLS.map((p) => ({ impl, protocol: p, tracing: tracingFor(impl, p), results: [] as Result[] }))
)
for (const c of cases) await run(c.impl, c.tracing, REQUESTS) // warm-up
for (let r = 0; r < ROUNDS; r++) for (const c of cases) c.results.push(await run(c.impl, c.tracing, REQUESTS))
const asyncCallOn = await promiseCost()

const base = best(off)
console.log(
  `tracing cost per proxied request (SERVER + CLIENT span), ${REQUESTS} requests x ${ROUNDS} rounds, best round`
)
console.log(`  tracing off: ${base.toFixed(1)} us CPU (the loop itself)`)
for (const { impl, protocol, results: rs } of cases) {
  const cpu = best(rs.map((r) => r.cpuUs))
  const sync = best(rs.map((r) => r.syncUs))
  const bytes = best(rs.map((r) => r.bytesPerSpan))
  const spans = Math.max(...rs.map((r) => r.spansPerRequest))
  console.log(
    `  ${impls.length > 1 ? `${impl.label}, ` : ''}${protocol.padEnd(13)}: ${(cpu - base).toFixed(1)} us CPU/request ` +
      `over off (${cpu.toFixed(1)} total); request-side calls ${sync.toFixed(1)} us; ` +
      `${bytes.toFixed(0)} B/span exported, ${spans.toFixed(2)} spans/request`
  )
}
console.log(
  `  every async call in the process, tracing on: +${(asyncCallOn - asyncCallOff).toFixed(0)} ns CPU ` +
    `(${asyncCallOff.toFixed(0)} -> ${asyncCallOn.toFixed(0)} ns; AsyncLocalStorage context manager)`
)
for (const c of cases) await c.tracing.shutdown(1_000)
receiver.close()
