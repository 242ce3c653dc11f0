import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { buildTestApp } from '../helpers/app.js'
import { freePort } from '../helpers/throwaway.js'

test('closing under load finishes every in-flight request and refuses new ones cleanly', async () => {
  let arrived = 0
  const t = await buildTestApp({
    extraRoutes: (app) => {
      app.get('/test/slow', async () => {
        arrived++
        await new Promise((r) => setTimeout(r, 300))
        return { done: true }
      })
    }
  })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (t.app.server.address() as { port: number }).port
  const inflight = Array.from({ length: 30 }, () =>
    request(`http://127.0.0.1:${port}/test/slow`).then(async (r) => ({
      status: r.statusCode,
      body: await r.body.json()
    }))
  )
  // Close once every request is in flight (on a loaded machine connecting can take a while).
  for (let i = 0; i < 200 && arrived < 30; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(arrived, 30)
  const closing = t.close()
  const results = await Promise.all(inflight)
  await closing
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]))
  assert.ok(results.every((r) => (r.body as { done: boolean }).done))
})

test('the server process drains on SIGTERM and exits 0', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-srv-'))
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HTTP_PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: 'info'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  try {
    for (let i = 0; i < 300 && !out.includes('gateway listening'); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(out, /gateway listening/)
    const res = await request(`http://127.0.0.1:${port}/health`)
    assert.equal(res.statusCode, 200)
    await res.body.dump()
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    assert.equal(await exit, 0)
    assert.match(out, /shutdown complete/)
  } finally {
    child.kill('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  }
})
