/**
 * The system under test of `npm run chaos`, all on loopback and all thrown away afterwards: one
 * PostgreSQL (initdb + pg_ctl), one Redis (persistent: AOF with fsync on every write, as idempotency
 * records need), a latency proxy in front of Redis, a controllable upstream, three gateway
 * processes, and a chunk store on a small tmpfs so the disk can be filled (skipped visibly when
 * the mount is refused).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  freePort,
  startThrowawayPostgres,
  startThrowawayRedis,
  type ThrowawayPostgres,
  type ThrowawayRedis
} from '../../test/helpers/throwaway.js'
import { spawnGateway, type GatewayProcess } from '../../test/helpers/gateway-process.js'
import type { HelperContext } from '../../test/helpers/programs.js'
import { spawnLatencyProxy, type LatencyProxy } from '../../test/support/latency-proxy.js'

export type UpstreamMode = 'ok' | 'slow' | 'fail' | 'down'

export interface Stack {
  pg: ThrowawayPostgres
  redis: ThrowawayRedis
  redisProxy: LatencyProxy
  gateways: { url: string; proc(): GatewayProcess }[]
  /** Switches the upstream's behaviour. */
  upstream(mode: UpstreamMode, ms?: number): void
  upstreamExecutions(): Promise<Record<string, number>>
  /** Gateway processes that exited on their own (a crash is a finding). */
  crashes: string[]
  /** Restarts every gateway that crashed, so the run goes on. */
  reviveCrashed(): Promise<void>
  killGateway(i: number): void
  restartGateway(i: number): Promise<void>
  /** RSS of gateway i in MB (0 when it is not running). */
  rssMb(i: number): number
  /** Fills the chunk volume to the last byte; undefined when the volume is not a private tmpfs. */
  fillDisk?(): void
  freeDisk?(): void
  close(): Promise<void>
}

export class Skip extends Error {}

/** The helpers' test context, for a script: skips become a visible Skip, cleanups run at close. */
function context(cleanups: (() => unknown)[]): HelperContext {
  return {
    skip: (message?: string) => {
      throw new Skip(message ?? 'skipped')
    },
    after: (fn) => cleanups.push(fn)
  }
}

async function waitReady(url: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/ready`)
      await r.arrayBuffer()
      if (r.status === 200) return
    } catch {
      // not up yet
    }
    await sleep(200)
  }
  throw new Error(`${url} did not become ready`)
}

function mountTmpfs(dir: string, sizeMb: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

export async function startStack(o: { log(m: string): void; env?: Record<string, string> }): Promise<Stack> {
  const cleanups: (() => unknown)[] = []
  const ctx = context(cleanups)
  const work = mkdtempSync(path.join(tmpdir(), 'lucid-chaos-'))
  const pg = await startThrowawayPostgres(ctx)
  if (pg === null) throw new Skip('PostgreSQL (initdb, pg_ctl) is not installed')
  cleanups.push(() => pg.destroy())
  mkdirSync(path.join(work, 'redis'))
  const redis = await startThrowawayRedis(ctx, [
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    path.join(work, 'redis')
  ])
  if (redis === null) throw new Skip('redis-server is not installed')
  const redisProxy = await spawnLatencyProxy({ port: redis.port })
  cleanups.push(() => redisProxy.close())
  o.log(`postgres ${new URL(pg.url).port}, redis ${redis.port} behind proxy ${redisProxy.port}`)

  const upstreamPort = await freePort()
  const upstreamProc: ChildProcess = fork(new URL('./upstream.ts', import.meta.url).pathname, [String(upstreamPort)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  cleanups.push(() => upstreamProc.kill('SIGKILL'))
  await new Promise((resolve) => upstreamProc.once('message', resolve))
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`

  const chunks = path.join(work, 'chunks')
  mkdirSync(chunks)
  const tmpfs = mountTmpfs(chunks, 128)
  if (tmpfs) cleanups.push(() => execFileSync('umount', ['-l', chunks], { stdio: 'pipe' }))
  o.log(
    tmpfs
      ? 'chunk store on a 128 MiB tmpfs'
      : 'SKIPPED disk-full phase: could not mount a tmpfs for the chunk store (needs root)'
  )

  const env: Record<string, string> = {
    DATABASE_URL: pg.url,
    REDIS_URL: redisProxy.url,
    STATE_KEY_PREFIX: 'lucid-chaos:',
    JWT_SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    BLOCKCHAIN_CORE_URL: upstreamUrl,
    TRON_PAYMENT_URL: upstreamUrl,
    NODE_SERVICE_URL: upstreamUrl,
    TRON_PAYMENT_TIMEOUT_MS: '5000',
    MAX_SESSIONS_PER_USER: '100000',
    // Recovery "within a few seconds" of an upstream outage needs a breaker that retries soon.
    UPSTREAM_BREAKER_OPEN_MS: '3000',
    UPSTREAM_HEALTH_INTERVAL_MS: '2000',
    CHUNK_STORE_DIR: chunks,
    LOG_LEVEL: 'warn',
    ...o.env
  }
  const ports = [await freePort(), await freePort(), await freePort()]
  const procs: GatewayProcess[] = []
  let closing = false
  const crashes: string[] = []
  const start = (i: number) => {
    const dataDir = path.join(work, `gw${i}`)
    mkdirSync(dataDir, { recursive: true })
    const proc = spawnGateway(ctx, { ...env, HTTP_PORT: String(ports[i]), DATA_DIR: dataDir })
    proc.child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL' || closing) return
      crashes.push(`gateway ${i + 1} exited (${code ?? signal})`)
      o.log(`gateway ${i + 1} exited (${code ?? signal}):\n${proc.output().slice(-3000)}`)
    })
    procs[i] = proc
  }
  const gateways = ports.map((p, i) => ({ url: `http://127.0.0.1:${p}`, proc: () => procs[i] }))
  // The first one migrates the database; the others start once it is there.
  start(0)
  await waitReady(gateways[0].url)
  start(1)
  start(2)
  await Promise.all(gateways.map((g) => waitReady(g.url)))
  o.log(`gateways on ${ports.join(', ')}`)

  const filler = path.join(chunks, 'filler.bin')
  return {
    pg,
    redis,
    redisProxy,
    gateways,
    upstream: (mode, ms) => upstreamProc.send({ mode, ms }),
    upstreamExecutions: () =>
      new Promise((resolve) => {
        const onMessage = (m: { executions?: Record<string, number> }) => {
          if (m.executions === undefined) return
          upstreamProc.off('message', onMessage)
          resolve(m.executions)
        }
        upstreamProc.on('message', onMessage)
        upstreamProc.send({ stats: true })
      }),
    crashes,
    async reviveCrashed() {
      for (const [i, p] of procs.entries()) {
        if (p.child.exitCode !== null && p.child.signalCode !== 'SIGKILL') {
          start(i)
          await waitReady(gateways[i].url)
        }
      }
    },
    killGateway: (i) => procs[i].child.kill('SIGKILL'),
    async restartGateway(i) {
      start(i)
      await waitReady(gateways[i].url)
    },
    rssMb(i) {
      const pid = procs[i]?.child.pid
      if (pid === undefined || procs[i].child.exitCode !== null) return 0
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
        return Math.round(kb / 1024)
      } catch {
        return 0
      }
    },
    ...(tmpfs
      ? {
          fillDisk() {
            const { bavail, bsize } = statfsSync(chunks)
            try {
              writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)))
            } catch (err) {
              // Uploads took some of the space meanwhile: full is full.
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
            }
          },
          freeDisk: () => rmSync(filler, { force: true })
        }
      : {}),
    async close() {
      closing = true
      for (const p of procs) if (p?.child.exitCode === null) await p.stop()
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined)
      rmSync(work, { recursive: true, force: true })
    }
  }
}
