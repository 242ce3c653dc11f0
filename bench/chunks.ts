/**
 * Chunk upload throughput (issue 6): a session of ten 10 MiB chunks uploaded through the gateway
 * over HTTP, against writing and fsyncing the same bytes straight to disk, in one run; with the
 * gateway's RSS growth (issue 9: under 20 MB). Run: `node --import tsx bench/chunks.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { buildApp } from '../src/app.js'
import { freezeConfig, loadConfig } from '../src/config.js'
import { addressFromPublicKey, signTip191 } from '../src/crypto/tron.js'

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 10)
const SIZE = 10 * 1024 * 1024
const dir = mkdtempSync(path.join(tmpdir(), 'lucid-chunks-'))
const chunks = Array.from({ length: CHUNKS }, () => randomBytes(SIZE))

async function rawDisk(): Promise<number> {
  const t0 = performance.now()
  for (let i = 0; i < CHUNKS; i++) {
    const f = await open(path.join(dir, `raw-${i}`), 'w')
    await f.write(chunks[i])
    await f.sync()
    await f.close()
  }
  return (CHUNKS * SIZE) / 1024 / 1024 / ((performance.now() - t0) / 1000)
}

async function gateway(): Promise<{ mibs: number; rssGrowthMb: number }> {
  const config = freezeConfig(
    loadConfig({
      ...process.env,
      DATA_DIR: dir,
      JWT_SECRET_KEY: randomBytes(32).toString('hex'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_BANDWIDTH_BYTES_PER_S: String(10 * 1024 ** 3),
      DATABASE_URL: '',
      REDIS_URL: ''
    })
  )
  const app = await buildApp(config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  try {
    const priv = secp256k1.utils.randomSecretKey()
    const address = addressFromPublicKey(secp256k1.getPublicKey(priv, false))
    const c = (await (
      await request(`${base}/api/v1/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tron_address: address })
      })
    ).body.json()) as { nonce: string; message: string }
    const li = (await (
      await request(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          tron_address: address,
          nonce: c.nonce,
          signature: signTip191(c.message, Buffer.from(priv).toString('hex'))
        })
      })
    ).body.json()) as { access_token: string }
    const auth = { authorization: `Bearer ${li.access_token}` }
    const s = (await (
      await request(`${base}/api/v1/sessions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' })
      })
    ).body.json()) as { session_id: string }
    await (
      await request(`${base}/api/v1/sessions/${s.session_id}/start`, { method: 'POST', headers: auth })
    ).body.dump()
    global.gc?.()
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10)
    const t0 = performance.now()
    for (let i = 0; i < CHUNKS; i++) {
      const res = await request(`${base}/api/v1/sessions/${s.session_id}/chunks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'x-chunk-index': String(i) },
        body: chunks[i]
      })
      if (res.statusCode !== 201) throw new Error(`upload ${i}: ${res.statusCode} ${await res.body.text()}`)
      await res.body.dump()
    }
    const mibs = (CHUNKS * SIZE) / 1024 / 1024 / ((performance.now() - t0) / 1000)
    clearInterval(sampler)
    return { mibs, rssGrowthMb: (peak - rss0) / 1024 / 1024 }
  } finally {
    await app.close()
  }
}

const raw = await rawDisk()
const gw = await gateway()
console.log(
  `| upload path | MiB/s | × raw disk |\n|---|---:|---:|\n| write + fsync straight to disk | ${raw.toFixed(0)} | 1.00 |\n| gateway: HTTP upload, hash, temp file + fsync + rename, row insert (embedded DB) | ${gw.mibs.toFixed(0)} | ${(gw.mibs / raw).toFixed(2)} |\n\nGateway process RSS growth during ${CHUNKS} × 10 MiB (client in the same process, chunks pre-generated): ${gw.rssGrowthMb.toFixed(1)} MB`
)
rmSync(dir, { recursive: true, force: true })
