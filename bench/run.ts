/**
 * `npm run bench` (issue 9): every peer measured side by side in one run, rounds interleaved
 * (A B C … A B C …), medians with min/max. Servers are pinned to core 1 and wrk to core 0 when
 * `taskset` exists. Uses wrk (Debian package) when installed, autocannon otherwise.
 *
 * Env: BENCH_DURATION_S (10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64), BENCH_ONLY (comma list
 * of scenario ids), BENCH_OUT (BENCHMARKS.md to rewrite the results table in place),
 * BENCH_BASELINE_REF (a git ref, e.g. main: adds the twin `gateway-baseline` built from it, to
 * measure what a change costs against the code before it).
 * Stage twins (issue 15): `gateway-no-<stage>` runs with BENCH_MODE=1 BENCH_DISABLE_STAGES=<stage>
 * (src/pipeline/bench-switches.ts); the per-stage section prices each stage as the CPU per request
 * the gateway spends above its twin. Only the twins named in BENCH_ONLY are started.
 * With DATABASE_URL and REDIS_URL set the gateway runs in its production configuration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync
} from 'node:fs'
import { tmpdir, cpus } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { addressFromPublicKey, signTip191 } from '../src/crypto/tron.js'
import { freePort, waitHttp, walletToken } from './support.js'

const DURATION = Number(process.env.BENCH_DURATION_S ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 64)
const ONLY = process.env.BENCH_ONLY?.split(',')
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const has = (bin: string) => spawnSync('which', [bin]).status === 0
const wanted = (id: string) => ONLY === undefined || ONLY.includes(id)
const pin = (cores: number | string, cmd: string, args: string[]): [string, string[]] =>
  has('taskset') && cpus().length > 1 ? ['taskset', ['-c', String(cores), cmd, ...args]] : [cmd, args]
const children: ChildProcess[] = []

function start(name: string, cmd: string, args: string[], env: Record<string, string>, cores = '1'): ChildProcess {
  const [c, a] = pin(cores, cmd, args)
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], cwd: root })
  child.stderr?.on('data', (d) => process.env.BENCH_DEBUG && process.stderr.write(`[${name}] ${d}`))
  children.push(child)
  return child
}

/** The server's pid (taskset execs into it) and, for WORKERS=N, its worker processes. */
function tree(pid: number): number[] {
  const out = [pid]
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1])
      if (ppid === pid) out.push(Number(d))
    } catch {
      // gone
    }
  }
  return out
}
function cpuTicks(pid: number): number {
  let sum = 0
  for (const p of tree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')
      sum += Number(f[11]) + Number(f[12])
    } catch {
      // gone
    }
  }
  return sum
}
/** RSS of the largest process of the tree (per worker), MB. */
function rssMb(pid: number): number {
  let max = 0
  for (const p of tree(pid)) {
    try {
      max = Math.max(max, Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024)
    } catch {
      // gone
    }
  }
  return max
}

interface Result {
  rps: number
  p50: number
  p99: number
  p999: number
  errors: number
  non2xx: number
  cpuMsPerReq: number
  rss: number
}

async function load(
  url: string,
  headers: Record<string, string>,
  pid: number,
  connections = CONNS,
  seconds = DURATION
): Promise<Result> {
  const before = cpuTicks(pid)
  let r: Result
  if (has('wrk')) {
    const args = [
      '-t',
      '1',
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '10s',
      '-s',
      path.join(root, 'bench/report.lua')
    ]
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
    const [c, a] = pin(0, 'wrk', [...args, url])
    const out = spawnSync(c, a, { encoding: 'utf8', timeout: (seconds + 30) * 1000 })
    const line = /WRKJSON (.*)/.exec(out.stdout)?.[1]
    if (line === undefined) throw new Error(`wrk failed: ${out.stderr || out.stdout}`)
    const j = JSON.parse(line)
    r = {
      rps: j.requests / (j.duration_us / 1e6),
      p50: j.p50_us / 1000,
      p99: j.p99_us / 1000,
      p999: j.p999_us / 1000,
      errors: j.connect + j.read + j.write + j.timeout,
      non2xx: j.status,
      cpuMsPerReq: 0,
      rss: 0
    }
    r.cpuMsPerReq = ((cpuTicks(pid) - before) * 10) / Math.max(1, j.requests)
  } else {
    const { default: autocannon } = await import('autocannon' as string)
    const res = await autocannon({ url, connections, duration: seconds, headers })
    r = {
      rps: res.requests.average,
      p50: res.latency.p50,
      p99: res.latency.p99,
      p999: res.latency.p99_9 ?? res.latency.p99,
      errors: res.errors + res.timeouts,
      non2xx: res.non2xx,
      cpuMsPerReq: 0,
      rss: 0
    }
    r.cpuMsPerReq = ((cpuTicks(pid) - before) * 10) / Math.max(1, res.requests.total)
  }
  r.rss = rssMb(pid)
  return r
}

/**
 * Wallet logins per second: each connection loops challenge → TIP-191 signature → login. wrk cannot
 * sign, so this client is Node (pinned with the rest of the load side to core 0 by the caller).
 */
async function loginLoad(base: string, pid: number, connections: number, seconds = DURATION): Promise<Result> {
  const before = cpuTicks(pid)
  const wallets = Array.from({ length: connections }, () => {
    const priv = secp256k1.utils.randomSecretKey()
    return {
      hex: Buffer.from(priv).toString('hex'),
      address: addressFromPublicKey(secp256k1.getPublicKey(priv, false))
    }
  })
  const lat: number[] = []
  let errors = 0
  let non2xx = 0
  const end = Date.now() + seconds * 1000
  await Promise.all(
    wallets.map(async (w) => {
      while (Date.now() < end) {
        const t0 = performance.now()
        try {
          const c = await fetch(`${base}/api/v1/auth/challenge`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ tron_address: w.address })
          })
          const cb = (await c.json()) as { nonce: string; message: string }
          if (c.status !== 200) {
            non2xx++
            continue
          }
          const l = await fetch(`${base}/api/v1/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ tron_address: w.address, nonce: cb.nonce, signature: signTip191(cb.message, w.hex) })
          })
          await l.arrayBuffer()
          if (l.status !== 200) non2xx++
          else lat.push(performance.now() - t0)
        } catch {
          errors++
        }
      }
    })
  )
  lat.sort((a, b) => a - b)
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))] ?? NaN
  return {
    rps: lat.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    errors,
    non2xx,
    cpuMsPerReq: ((cpuTicks(pid) - before) * 10) / Math.max(1, lat.length),
    rss: rssMb(pid)
  }
}

/**
 * dist/ of another commit (BENCH_BASELINE_REF), exported with `git archive` into `dir` (no
 * worktree is registered) and compiled against this checkout's node_modules.
 */
function buildBaseline(ref: string, dir: string): string {
  const sha = spawnSync('git', ['rev-parse', '--short', ref], { cwd: root, encoding: 'utf8' }).stdout.trim()
  if (sha === '') throw new Error(`BENCH_BASELINE_REF=${ref} is not a git ref`)
  const archive = spawnSync('sh', ['-c', `git archive ${sha} | tar -x -C ${JSON.stringify(dir)}`], {
    cwd: root,
    stdio: 'inherit'
  })
  if (archive.status !== 0) throw new Error(`could not export ${ref}`)
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'))
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: dir, stdio: 'inherit' }
  )
  if (tsc.status !== 0) throw new Error(`could not build ${ref}`)
  return sha
}

/** Request-path stages a twin can switch off (src/pipeline/bench-switches.ts BENCH_STAGES). */
const STAGE_TWINS = ['admission', 'identify', 'headers', 'metrics', 'log', 'tracing']

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main(): Promise<void> {
  if (!existsSync(path.join(root, 'dist/server.js')) || process.env.BENCH_BUILD !== '0')
    spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  const production = process.env.DATABASE_URL !== undefined && process.env.REDIS_URL !== undefined
  // This process is load side too (the login client): keep it on wrk's core.
  if (has('taskset') && cpus().length > 1) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)])
  // Its own database on the configured server, dropped afterwards; never the shared one.
  let dbUrl: string | undefined
  let dropDb = async () => undefined as void
  if (production) {
    const pg = (await import('pg')).default
    const name = `lucid_bench_${Date.now()}`
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const u = new URL(process.env.DATABASE_URL as string)
    u.pathname = `/${name}`
    dbUrl = u.toString()
    dropDb = async () => {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lucid-bench-'))
  const secret = randomBytes(32).toString('hex')
  const upPort = await freePort()
  const upstream = start('upstream', process.execPath, [path.join(root, 'bench/upstream.mjs')], {
    PORT: String(upPort)
  })
  const upUrl = `http://127.0.0.1:${upPort}`
  await waitHttp(upUrl)

  const gwEnv = (port: number, extra: Record<string, string> = {}) => ({
    HTTP_PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET_KEY: secret,
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    NODE_SERVICE_URL: upUrl,
    LOG_LEVEL: 'info',
    DOCS_ENABLED: 'false',
    RATE_LIMIT_AUTHENTICATED: '10000000',
    RATE_LIMIT_PUBLIC: '10000000',
    RATE_LIMIT_AUTH: '10000000',
    RATE_LIMIT_RULES: JSON.stringify([
      { name: 'bench_limited', path: '/api/v1/nodes/limited*', key: 'user', limit: 1, period_s: 60 }
    ]),
    ...(production ? { STATE_KEY_PREFIX: `bench:${Date.now()}:`, DATABASE_URL: dbUrl as string } : {}),
    ...extra
  })
  // Embedded PGlite is single-process: the unlimited twin only runs in production mode.
  const gwPort = await freePort()
  const gw = start('gateway', process.execPath, ['dist/server.js'], gwEnv(gwPort))
  const gwUrl = `http://127.0.0.1:${gwPort}`
  await waitHttp(`${gwUrl}/ready`)
  // Twins of the gateway with one thing changed (production mode only: PGlite is single-process).
  // Only the twins a run measures are started (BENCH_ONLY).
  const twin = async (
    name: string,
    extra: Record<string, string>,
    cores = '1',
    server = 'dist/server.js'
  ): Promise<{ pid: number; url: string } | undefined> => {
    if (!production || !wanted(name)) return undefined
    const p = await freePort()
    const child = start(name, process.execPath, [server], gwEnv(p, { JOBS_ENABLED: 'false', ...extra }), cores)
    const url = `http://127.0.0.1:${p}`
    await waitHttp(`${url}/ready`)
    return { pid: child.pid as number, url }
  }
  const noLimit = await twin('gateway-nolimit', { RATE_LIMIT_ENABLED: 'false' })
  // Without the access log: what logging costs.
  const noLog = await twin('gateway-nolog', { LOG_LEVEL: 'warn' })
  // WORKERS=2: on this 2-core machine it shares the cores with wrk.
  const workers2 = await twin('gateway-workers2', { WORKERS: '2' }, '0,1')
  // Tracing (issue 17): every request sampled and exported over OTLP/HTTP to a live receiver,
  // which runs on the load side's core (a collector would be on another machine).
  const otlpPort = await freePort()
  const otlpUrl = `http://127.0.0.1:${otlpPort}`
  start(
    'otlp-receiver',
    process.execPath,
    [path.join(root, 'bench/otlp-receiver.mjs')],
    { PORT: String(otlpPort) },
    '0'
  )
  await waitHttp(otlpUrl)
  // This code exactly as the baseline and tracing twins run (jobs off), so a twin is compared with
  // a twin: the headline `gateway` also runs its background jobs.
  const twinOff = await twin('gateway-twin', {})
  const traced = await twin('gateway-trace', { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_TRACES_SAMPLER: 'always_on' })
  // The same without AsyncLocalStorage: the context handed on by argument (no query/command spans).
  const tracedExplicit = await twin('gateway-trace-explicit', {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_TRACES_SAMPLER: 'always_on',
    TRACING_CONTEXT: 'explicit'
  })
  // The same with the other OTLP encoding than the default, to price one against the other.
  const tracedJson = await twin('gateway-trace-json', {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json'
  })
  // Stage twins (issue 15): the gateway with one request-path stage switched off, so the stage's
  // cost is the difference. The tracing stage is priced against the tracing twin, with which its
  // own twin shares the OTLP settings.
  const stageTwins: { stage: string; of: string; twin: { pid: number; url: string } }[] = []
  for (const stage of STAGE_TWINS) {
    const tracingEnv: Record<string, string> =
      stage === 'tracing' ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_TRACES_SAMPLER: 'always_on' } : {}
    const t = await twin(`gateway-no-${stage}`, { BENCH_MODE: '1', BENCH_DISABLE_STAGES: stage, ...tracingEnv })
    // Priced against the jobs-off twin of this code when it runs (the headline gateway also runs
    // its background jobs, which no stage twin does).
    const of = stage === 'tracing' ? 'gateway-trace' : twinOff !== undefined ? 'gateway-twin' : 'gateway'
    if (t !== undefined) stageTwins.push({ stage, of, twin: t })
  }
  // The same gateway built from the code before the change under test (tracing off there and here).
  const baselineRef = process.env.BENCH_BASELINE_REF
  let baseline: { pid: number; url: string } | undefined
  let baselineSha = ''
  if (baselineRef !== undefined && production && wanted('gateway-baseline')) {
    const dir = path.join(dataDir, 'baseline')
    mkdirSync(dir)
    baselineSha = buildBaseline(baselineRef, dir)
    baseline = await twin('gateway-baseline', {}, '1', path.join(dir, 'dist/server.js'))
  }
  const bearer = await walletToken(gwUrl)
  const auth = { authorization: `Bearer ${bearer}` }

  const barePort = await freePort()
  const bare = start('bare-fastify', process.execPath, [path.join(root, 'bench/bare-fastify.mjs')], {
    PORT: String(barePort),
    UPSTREAM: upUrl
  })
  await waitHttp(`http://127.0.0.1:${barePort}/x`)
  // The floor (issue 15): ~20 lines of node:http + undici Pool.stream, hop-by-hop headers stripped.
  const minimalPort = await freePort()
  const minimal = start('minimal-proxy', process.execPath, [path.join(root, 'bench/minimal-proxy.mjs')], {
    PORT: String(minimalPort),
    UPSTREAM: upUrl
  })
  await waitHttp(`http://127.0.0.1:${minimalPort}/x`)

  let haproxy: ChildProcess | undefined
  let haUrl = ''
  if (has('haproxy')) {
    const haPort = await freePort()
    const cfg = path.join(dataDir, 'haproxy.cfg')
    writeFileSync(
      cfg,
      `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${haPort}
  stick-table type string len 64 size 100k expire 60s store http_req_rate(60s)
  http-request deny deny_status 401 unless { req.hdr(authorization) -m beg "Bearer " }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str HS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${secret}") -m int 1 }
  http-request set-var(txn.sub) var(txn.bearer),jwt_payload_query('$.sub')
  http-request track-sc0 var(txn.sub)
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000000 }
  default_backend be
backend be
  http-reuse always
  server up 127.0.0.1:${upPort}
`
    )
    haproxy = start('haproxy', 'haproxy', ['-f', cfg, '-db'], {})
    haUrl = `http://127.0.0.1:${haPort}`
    await new Promise((r) => setTimeout(r, 500))
  }

  const path1 = '/api/v1/nodes/bench'
  // A twin measured on the proxied path with the bench user's token; nothing when it is not started.
  const twinTarget = (t: { pid: number; url: string } | undefined, id: string, label: string) =>
    t === undefined ? [] : [{ id, label, url: t.url + path1, headers: auth, pid: t.pid }]
  const scenarios: {
    id: string
    label: string
    url: string
    headers: Record<string, string>
    pid: number
    conns?: number
    login?: boolean
  }[] = [
    { id: 'direct', label: 'upstream called directly', url: upUrl + path1, headers: {}, pid: upstream.pid! },
    {
      id: 'minimal',
      label: 'minimal node:http + undici Pool.stream proxy, no features',
      url: `http://127.0.0.1:${minimalPort}${path1}`,
      headers: {},
      pid: minimal.pid!
    },
    {
      id: 'bare',
      label: 'Fastify + reply-from, no auth/limit',
      url: `http://127.0.0.1:${barePort}${path1}`,
      headers: {},
      pid: bare.pid!
    },
    ...(haproxy
      ? [
          {
            id: 'haproxy',
            label: 'HAProxy 2.6: jwt_verify + stick table + proxy',
            url: haUrl + path1,
            headers: auth,
            pid: haproxy.pid!
          }
        ]
      : []),
    {
      id: 'gateway',
      label: 'gateway: auth + revocation + limit + proxy + log + metrics',
      url: gwUrl + path1,
      headers: auth,
      pid: gw.pid!
    },
    ...twinTarget(noLimit, 'gateway-nolimit', 'gateway, RATE_LIMIT_ENABLED=false'),
    ...twinTarget(noLog, 'gateway-nolog', 'gateway, LOG_LEVEL=warn (no access log)'),
    {
      id: 'bare-json',
      label: 'bare Fastify local JSON route of the same size',
      url: `http://127.0.0.1:${barePort}/__json`,
      headers: {},
      pid: bare.pid!
    },
    {
      id: 'local',
      label: 'gateway local JSON route (GET /users/me)',
      url: `${gwUrl}/api/v1/users/me`,
      headers: auth,
      pid: gw.pid!
    },
    {
      id: 'limited',
      label: 'gateway rate-limited route at its limit (429 path)',
      url: `${gwUrl}/api/v1/nodes/limited`,
      headers: auth,
      pid: gw.pid!
    },
    {
      id: 'login',
      label: 'gateway wallet login (challenge + TIP-191 verify), 16 clients',
      url: gwUrl,
      headers: {},
      pid: gw.pid!,
      conns: 16,
      login: true
    },
    ...twinTarget(
      baseline,
      'gateway-baseline',
      `gateway built from ${baselineRef} (${baselineSha}), the code before this change`
    ),
    ...twinTarget(twinOff, 'gateway-twin', 'gateway twin (jobs off like the twins below), tracing off'),
    ...twinTarget(traced, 'gateway-trace', 'gateway, tracing on: 100% sampled, OTLP/HTTP export to a live receiver'),
    ...twinTarget(
      tracedExplicit,
      'gateway-trace-explicit',
      'gateway, tracing on as above, TRACING_CONTEXT=explicit (no AsyncLocalStorage)'
    ),
    ...twinTarget(
      tracedJson,
      'gateway-trace-json',
      'gateway, tracing on as above, OTEL_EXPORTER_OTLP_PROTOCOL=http/json'
    ),
    ...stageTwins.map((t) => ({
      id: `gateway-no-${t.stage}`,
      label: `gateway, stage ${t.stage} off (BENCH_DISABLE_STAGES=${t.stage})`,
      url: t.twin.url + path1,
      headers: auth,
      pid: t.twin.pid
    })),
    ...twinTarget(workers2, 'gateway-workers2', 'gateway, WORKERS=2 (sharing both cores with wrk)'),
    {
      id: 'gateway-256',
      label: 'gateway, 256 connections',
      url: gwUrl + path1,
      headers: auth,
      pid: gw.pid!,
      conns: 256
    },
    {
      id: 'gateway-1024',
      label: 'gateway, 1024 connections (overload: load shedding)',
      url: gwUrl + path1,
      headers: auth,
      pid: gw.pid!,
      conns: 1024
    },
    ...(haproxy
      ? [
          {
            id: 'haproxy-256',
            label: 'HAProxy, 256 connections',
            url: haUrl + path1,
            headers: auth,
            pid: haproxy.pid!,
            conns: 256
          }
        ]
      : []),
    {
      id: 'bare-256',
      label: 'Fastify + reply-from, 256 connections',
      url: `http://127.0.0.1:${barePort}${path1}`,
      headers: {},
      pid: bare.pid!,
      conns: 256
    },
    ...(haproxy
      ? [
          {
            id: 'haproxy-1024',
            label: 'HAProxy, 1024 connections',
            url: haUrl + path1,
            headers: auth,
            pid: haproxy.pid!,
            conns: 1024
          }
        ]
      : []),
    {
      id: 'bare-1024',
      label: 'Fastify + reply-from, 1024 connections',
      url: `http://127.0.0.1:${barePort}${path1}`,
      headers: {},
      pid: bare.pid!,
      conns: 1024
    }
  ].filter((s) => ONLY === undefined || ONLY.includes(s.id))

  // Warm-up: JIT, connection pools and caches of every peer, not measured.
  const run = (s: (typeof scenarios)[number], seconds = DURATION) =>
    s.login ? loginLoad(s.url, s.pid, s.conns ?? 16, seconds) : load(s.url, s.headers, s.pid, s.conns, seconds)
  for (const s of scenarios) await run(s, Math.min(3, DURATION))
  const results = new Map<string, Result[]>()
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of scenarios) {
      const r = await run(s)
      results.set(s.id, [...(results.get(s.id) ?? []), r])
      console.error(`round ${round} ${s.id}: ${Math.round(r.rps)} req/s p99 ${r.p99.toFixed(1)} ms`)
    }
  }

  const bareRps = median(results.get('bare')?.map((r) => r.rps) ?? [NaN])
  const haRps = median(results.get('haproxy')?.map((r) => r.rps) ?? [NaN])
  const minimalRps = median(results.get('minimal')?.map((r) => r.rps) ?? [NaN])
  const rows = scenarios.map((s) => {
    const rs = results.get(s.id)!
    const rps = rs.map((r) => r.rps)
    const m = median(rps)
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–')
    return `| ${s.label} | ${Math.round(m)} (${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}) | ${f(median(rs.map((r) => r.p50)))} | ${f(median(rs.map((r) => r.p99)))} | ${f(median(rs.map((r) => r.p999)))} | ${median(rs.map((r) => r.errors))}/${median(rs.map((r) => r.non2xx))} | ${f(median(rs.map((r) => r.cpuMsPerReq * 1000)))} | ${Math.round(median(rs.map((r) => r.rss)))} | ${f(m / minimalRps)} | ${f(m / bareRps)} | ${f(m / haRps)} |`
  })
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim()
  const notes: string[] = []
  if (traced !== undefined) {
    // Proof that the tracing twin really exported: what the receiver got, what the twin dropped.
    const got = (await (await fetch(`${otlpUrl}/stats`)).json()) as { requests: number; spans: number }
    const metrics = await (await fetch(`${traced.url}/metrics`)).text()
    const dropped = [...metrics.matchAll(/^otel_spans_dropped_total\{reason="(\w+)"\} (\d+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`
    )
    notes.push(
      '',
      `Tracing twin: the receiver got ${got.spans} spans in ${got.requests} export requests; dropped: ${dropped.join(', ')}.`
    )
  }
  // Per stage: what the gateway spends above the twin without it (medians of the same run).
  const cpuUs = (id: string) => median(results.get(id)?.map((r) => r.cpuMsPerReq * 1000) ?? [NaN])
  const rpsOf = (id: string) => median(results.get(id)?.map((r) => r.rps) ?? [NaN])
  const priced = stageTwins.filter((t) => results.has(t.of) && results.has(`gateway-no-${t.stage}`))
  if (priced.length > 0) {
    notes.push(
      '',
      '| stage | measured against | CPU µs/req the stage costs (gateway − twin) | × throughput with the stage (gateway ÷ twin) |',
      '|---|---|---:|---:|'
    )
    for (const t of priced) {
      const id = `gateway-no-${t.stage}`
      notes.push(
        `| ${t.stage} | ${t.of} | ${(cpuUs(t.of) - cpuUs(id)).toFixed(2)} | ${(rpsOf(t.of) / rpsOf(id)).toFixed(2)} |`
      )
    }
  }
  const table = [
    `Run ${new Date().toISOString()} · commit ${commit} · ${cpus().length} cores (${cpus()[0]?.model ?? '?'}) · ${has('wrk') ? 'wrk' : 'autocannon'} · ${CONNS} connections unless noted · ${DURATION} s × ${ROUNDS} interleaved rounds · gateway storage: ${production ? 'PostgreSQL + Redis (production configuration)' : 'embedded PGlite + in-process state'}`,
    '',
    '| peer | req/s median (min–max) | p50 ms | p99 ms | p99.9 ms | errors/non-2xx | CPU µs/req | RSS MB | × minimal | × bare Fastify | × HAProxy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...notes
  ].join('\n')
  console.log(table)
  const out = process.env.BENCH_OUT
  if (out !== undefined) {
    const text = existsSync(out) ? readFileSync(out, 'utf8') : ''
    const marker = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/
    const block = `<!-- bench:start -->\n${table}\n<!-- bench:end -->`
    writeFileSync(out, marker.test(text) ? text.replace(marker, block) : `${text}\n${block}\n`)
  }
  for (const c of children) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 1_000))
  await dropDb()
  rmSync(dataDir, { recursive: true, force: true })
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM')
  })
