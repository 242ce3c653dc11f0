import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../helpers/throwaway.js'
import { spawnGateway } from '../helpers/gateway-process.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/lucid-gateway.js')

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string }> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn' }
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { ...base, ...env },
      cwd: tmpdir(),
      timeout: 60_000
    })
    return { code: 0, stdout: r.stdout }
  } catch (err) {
    const e = err as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

test('doctor next to a running embedded gateway on another HTTP_PORT blames no database (issue 13)', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-doctor-port-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const gw = spawnGateway(t, { DATA_DIR: dataDir, HTTP_PORT: String(port) })
  await gw.waitFor(/gateway listening/, 1, 120_000)
  assert.match(gw.output(), new RegExp(`"url":"http://127\\.0\\.0\\.1:${port}"`), 'the log names a URL that works')
  const upstreams = {
    BLOCKCHAIN_CORE_URL: 'http://127.0.0.1:9',
    TRON_PAYMENT_URL: 'http://127.0.0.1:9',
    NODE_SERVICE_URL: 'http://127.0.0.1:9'
  }
  const same = await cli({ DATA_DIR: dataDir, HTTP_PORT: String(port), ...upstreams }, 'doctor')
  assert.match(same.stdout, /^database\s+OK\s+embedded, held by running gateway pid \d+, which reports ready/m)
  const other = await cli({ DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), ...upstreams }, 'doctor')
  assert.doesNotMatch(other.stdout, /^database\s+FAIL/m, other.stdout)
  assert.match(
    other.stdout,
    /^gateway\s+WARN\s+the embedded database is open in gateway pid \d+.*run doctor with that gateway's HTTP_PORT/m
  )
  assert.equal(await gw.stop(), 0)
})
