/**
 * At what load does the gateway start shedding (issue 14)? wrk comes from one address, so it only
 * ever meets the per-client bound; this drives one gateway process with closed-loop clients from
 * several loopback addresses (127.0.5.x) through the full path (auth, limiter, proxy) and counts
 * 503s by reason and 429s from the per-client queue. Needs DATABASE_URL and REDIS_URL.
 * Run: `node --import tsx bench/shedding.ts` (BENCH_DURATION_S, default 5).
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { TEST_DATA_KEY, TEST_JWT_SECRET } from '../test/helpers/app.js'
import { createPgTestDatabase } from '../test/helpers/stores.js'
import { freePort } from '../test/helpers/throwaway.js'
import { spawnGateway } from '../test/helpers/gateway-process.js'
import { agentFor, call, closeAgents, walletLogin } from '../scripts/chaos/load.js'

const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 5) * 1000
const LEVELS: { ips: number; perIp: number }[] = [
  { ips: 1, perIp: 256 },
  { ips: 4, perIp: 64 },
  { ips: 8, perIp: 48 },
  { ips: 8, perIp: 64 },
  { ips: 8, perIp: 128 },
  { ips: 16, perIp: 128 }
]

async function level(url: string, auth: Record<string, string>, ips: number, perIp: number): Promise<string> {
  const counts: Record<string, number> = {}
  const times: number[] = []
  const end = Date.now() + DURATION_MS
  await Promise.all(
    Array.from({ length: ips * perIp }, async (_, i) => {
      const agent = agentFor(`127.0.5.${(i % ips) + 1}`)
      while (Date.now() < end) {
        const t0 = performance.now()
        const r = await call(`${url}/api/v1/nodes/bench/${i}`, { headers: auth, agent })
        times.push(performance.now() - t0)
        const reason = r.status >= 400 ? (/"reason":"([a-z_]+)"/.exec(r.text)?.[1] ?? r.code ?? '') : ''
        const k = `${r.status}${reason ? ` ${reason}` : ''}`
        counts[k] = (counts[k] ?? 0) + 1
      }
    })
  )
  times.sort((a, b) => a - b)
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0)
  const shed =
    Object.entries(counts)
      .filter(([k]) => !k.startsWith('200'))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none'
  const rate = Math.round(times.length / (DURATION_MS / 1000))
  return `| ${[`${ips} × ${perIp} = ${ips * perIp}`, rate, q(0.5), q(0.99), counts['200'] ?? 0, shed].join(' | ')} |`
}

async function main(): Promise<void> {
  const dbBase = process.env.DATABASE_URL
  const redisUrl = process.env.REDIS_URL
  if (dbBase === undefined || redisUrl === undefined) throw new Error('DATABASE_URL and REDIS_URL are required')
  const cleanups: (() => unknown)[] = []
  const db = await createPgTestDatabase(dbBase)
  cleanups.push(() => db.drop())
  const upPort = await freePort()
  const upstream = spawn(process.execPath, [path.join(import.meta.dirname, 'upstream.mjs')], {
    env: { ...process.env, PORT: String(upPort) },
    stdio: 'ignore'
  })
  cleanups.push(() => upstream.kill('SIGKILL'))
  const port = await freePort()
  const gw = spawnGateway(
    { after: (fn) => cleanups.push(fn) },
    {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      STATE_KEY_PREFIX: `bench-shed-${randomUUID()}:`,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
      HTTP_PORT: String(port),
      NODE_SERVICE_URL: `http://127.0.0.1:${upPort}`,
      RATE_LIMIT_PUBLIC: '10000000',
      RATE_LIMIT_AUTHENTICATED: '10000000',
      LOG_LEVEL: 'warn'
    }
  )
  try {
    const url = `http://127.0.0.1:${port}`
    for (let i = 0; i < 600; i++) {
      if ((await call(`${url}/ready`, { agent: agentFor('127.0.0.1') })).status === 200) break
      if (gw.child.exitCode !== null) throw new Error(gw.output().slice(-2000))
      await sleep(200)
    }
    const li = await walletLogin(url, agentFor('127.0.0.1'))
    if (li.token === undefined)
      throw new Error(`login failed: ${li.status} ${li.code ?? ''}\n${gw.output().slice(-2000)}`)
    const auth = { authorization: `Bearer ${li.token}` }
    await level(url, auth, 1, 32) // warm-up
    const rows = []
    for (const l of LEVELS) {
      rows.push(await level(url, auth, l.ips, l.perIp))
      console.error(rows.at(-1))
      await sleep(2_000)
    }
    console.log(
      [
        '| clients (IPs × connections) | req/s | p50 ms | p99 ms | 200 | refused (status reason: count) |',
        '|---|---:|---:|---:|---:|---|',
        ...rows
      ].join('\n')
    )
  } finally {
    await gw.stop()
    await closeAgents()
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined)
  }
}

await main()
