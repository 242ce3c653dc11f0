/**
 * Throwaway servers for fault tests (issue 2, item 13): a private PostgreSQL cluster (initdb +
 * pg_ctl in a temp dir) or redis-server on a free loopback port. The machine's shared servers
 * are never stopped or reconfigured by a test.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { findProgram, type HelperContext } from './programs.js'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export interface ThrowawayPostgres {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

/** initdb refuses to run as root, so as root the cluster is run as the postgres user. */
function asPgUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
}

export async function startThrowawayPostgres(t: HelperContext): Promise<ThrowawayPostgres | null> {
  const initdb = findProgram('initdb', t)
  const pgCtl = findProgram('pg_ctl', t)
  if (initdb === null || pgCtl === null) return null
  const dir = mkdtempSync(path.join(tmpdir(), 'lucid-pg-'))
  chmodSync(dir, 0o777)
  const dataDir = path.join(dir, 'data')
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const port = await freePort()
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asPgUser(cmd, args)
    execFileSync(c, a, { stdio: 'pipe', timeout: 60_000 })
  }
  run(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions'])
  const start = async () => {
    run(pgCtl, [
      '-D',
      dataDir,
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      path.join(dir, 'log'),
      '-w',
      'start'
    ])
  }
  const stop = async () => {
    run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface ThrowawayRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  /** Makes the server stop answering for `ms` (CLIENT PAUSE), as a hung Redis would. */
  pause(ms: number): Promise<void>
  /** Sends a signal to the server process (SIGSTOP hangs it for real, SIGCONT resumes it). */
  signal(sig: NodeJS.Signals): void
}

export async function startThrowawayRedis(t: HelperContext, extraArgs: string[] = []): Promise<ThrowawayRedis | null> {
  const bin = findProgram('redis-server', t)
  if (bin === null) return null
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: 'ignore' }
    )
    for (let i = 0; i < 100; i++) {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' })
        return
      } catch {
        await sleep(50)
      }
    }
    throw new Error('throwaway redis did not start')
  }
  await start()
  t.after(() => child?.kill('SIGKILL'))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    async stop() {
      const c = child
      if (c === undefined || c.exitCode !== null) return
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve())
        c.kill('SIGKILL')
      })
    },
    async pause(ms) {
      execFileSync('redis-cli', ['-p', String(port), 'client', 'pause', String(ms), 'ALL'], { stdio: 'pipe' })
    },
    signal(sig) {
      child?.kill(sig)
    }
  }
}

/** Three cluster-enabled redis-servers joined with `redis-cli --cluster create` (no replicas). */
export async function startThrowawayRedisCluster(t: HelperContext): Promise<{ nodes: string[] } | null> {
  const cli = findProgram('redis-cli', t)
  if (cli === null) return null
  const dir = mkdtempSync(path.join(tmpdir(), 'lucid-cluster-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const servers: ThrowawayRedis[] = []
  for (let i = 0; i < 3; i++) {
    const s = await startThrowawayRedis(t, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, `nodes-${i}.conf`),
      '--dir',
      dir,
      '--cluster-node-timeout',
      '2000'
    ])
    if (s === null) return null
    servers.push(s)
  }
  const nodes = servers.map((s) => `127.0.0.1:${s.port}`)
  execFileSync(cli, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
    stdio: 'pipe',
    timeout: 30_000
  })
  for (let i = 0; i < 100; i++) {
    const ok = servers.every((s) =>
      execFileSync(cli, ['-p', String(s.port), 'cluster', 'info'], { encoding: 'utf8' }).includes('cluster_state:ok')
    )
    if (ok) return { nodes }
    await sleep(100)
  }
  throw new Error('throwaway Redis Cluster did not reach cluster_state:ok')
}
