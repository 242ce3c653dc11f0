import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { login } from '../helpers/identity.js'
import { freePort } from '../helpers/throwaway.js'
import { startEchoServer } from '../support/stand-ins.js'
import { startOtlpReceiver, tracingEnv } from '../helpers/otlp-receiver.js'
import { listeningGateway, type ListeningGateway } from './gateway.js'

async function dropped(gw: ListeningGateway, reason: string): Promise<number> {
  const text = await (await request(`${gw.base}/metrics`)).body.text()
  return Number(new RegExp(`^otel_spans_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN)
}

/** `n` proxied requests one after another; each one's status and duration. */
async function traffic(
  gw: ListeningGateway,
  auth: Record<string, string>,
  n: number
): Promise<{ status: number; ms: number }[]> {
  const out = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const res = await request(`${gw.base}/api/v1/nodes/c${i}`, { headers: auth })
    await res.body.dump()
    out.push({ status: res.statusCode, ms: performance.now() - t0 })
  }
  return out
}

test('a hung collector delays no request: the export queue stays bounded and overflow is counted', async (t) => {
  const receiver = await startOtlpReceiver()
  receiver.mode = 'hang'
  const up = await startEchoServer({ name: 'node_management' })
  // The export waits 60 s for the collector: a request that waited for it would show.
  const gw = await listeningGateway(
    tracingEnv(receiver, {
      NODE_SERVICE_URL: up.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '60000',
      OTEL_BSP_MAX_QUEUE_SIZE: '8',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4'
    })
  )
  t.after(async () => {
    await receiver.close()
    await up.close()
  })
  const li = await login(gw.app)
  const results = await traffic(gw, li.auth, 30)
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]), 'every request answered')
  const slowest = Math.max(...results.map((r) => r.ms))
  assert.ok(slowest < 10_000, `no request waited for the 60 s export (slowest ${slowest.toFixed(0)} ms)`)
  assert.ok(receiver.requests >= 1, 'the exporter did reach the collector, which never answered')
  assert.ok((await dropped(gw, 'queue_full')) > 0, 'spans beyond the queue bound are dropped and counted')

  // Shutdown does not wait out the hung export either (bounded flush).
  const t0 = performance.now()
  await gw.close()
  assert.ok(performance.now() - t0 < 30_000, `closed in ${(performance.now() - t0).toFixed(0)} ms`)
})

test('a collector that is down: requests are unaffected, failed exports are counted and logged', async (t) => {
  const up = await startEchoServer({ name: 'node_management' })
  const down = { endpoint: `http://127.0.0.1:${await freePort()}` }
  const gw = await listeningGateway(tracingEnv(down, { NODE_SERVICE_URL: up.url, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' }))
  t.after(async () => {
    await gw.close()
    await up.close()
  })
  const li = await login(gw.app)
  const results = await traffic(gw, li.auth, 10)
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]))
  const end = Date.now() + 20_000
  while ((await dropped(gw, 'export_failed')) === 0 && Date.now() < end) await sleep(100)
  assert.ok((await dropped(gw, 'export_failed')) > 0, 'spans of failed exports are counted')
  assert.ok(
    gw.lines.some(
      (l) => l.msg === 'trace export failed; spans dropped (otel_spans_dropped_total)' && l.level === 'warn'
    ),
    'the failure is logged'
  )
})
