/**
 * `npm run bench:profile` (issue 15): where the proxied request's CPU goes, stage by stage, from
 * one V8 CPU profile of the gateway under load — a complement to the stage twins of bench/run.ts,
 * which difference two processes' throughput and so carry the noise of two runs on a machine with
 * CPU steal. Here one process is sampled, only the samples taken while wrk runs are kept, and each
 * sample is charged to the first pipeline stage found on its stack (innermost first), so every
 * microsecond is counted once. Figures are µs of CPU per request (sampled time ÷ requests served).
 *
 * Env: PROFILE_DURATION_S (10), PROFILE_CONNECTIONS (64), PROFILE_PATH (/api/v1/nodes/x),
 * DATABASE_URL + REDIS_URL (production configuration; embedded defaults otherwise), PROFILE_ENV
 * (extra gateway env as JSON, e.g. '{"OTEL_EXPORTER_OTLP_ENDPOINT":"…"}'), PROFILE_TARGET=bare (profile
 * bench/bare-fastify.mjs, Fastify + reply-from, instead: the same table for the baseline), PROFILE_KEEP
 * (a path to keep the .cpuprofile at, for Chrome DevTools), PROFILE_DETAIL (part of a stage's name, e.g.
 * `Fastify`: that stage's time by innermost frame). Needs wrk and dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { freePort, waitHttp, walletToken } from './support.js'

const DURATION = Number(process.env.PROFILE_DURATION_S ?? 10)
const CONNS = Number(process.env.PROFILE_CONNECTIONS ?? 64)
const PATH = process.env.PROFILE_PATH ?? '/api/v1/nodes/x'
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')

/**
 * Stages in request order, each recognised by the frames that are its work. A sample is charged
 * to the innermost frame that matches a stage, so a stage's figure excludes what it calls into
 * another stage (the limit stage resolving identity is charged to authenticate).
 */
const STAGES: { stage: string; frames: RegExp }[] = [
  { stage: 'trace (tracing on only)', frames: /dist\/(tracing\/|pipeline\/trace\.js)|@opentelemetry/ },
  { stage: 'admit', frames: /dist\/(pipeline\/admit\.js|admission\/|plugins\/admission\.js)/ },
  { stage: 'identify', frames: /dist\/(pipeline\/identify\.js|http\/path\.js)/ },
  { stage: 'authenticate', frames: /dist\/(plugins\/auth\.js|auth\/|crypto\/|services\/auth\/)|node_modules\/jose/ },
  { stage: 'limit', frames: /dist\/(pipeline\/limit\.js|plugins\/rate-limit\.js|ratelimit\/)|node_modules\/ioredis/ },
  { stage: 'CORS', frames: /dist\/pipeline\/cors\.js|node_modules\/@fastify\/cors/ },
  {
    stage: 'route: proxy handler + upstream client',
    frames: /dist\/(routes\/proxy\/|proxy\/|plugins\/upstreams\.js)|node_modules\/(undici|@fastify\/reply-from)/
  },
  { stage: 'respond (headers)', frames: /dist\/(pipeline\/respond\.js|http\/security-headers\.js)/ },
  { stage: 'record: metrics', frames: /dist\/pipeline\/record\.js|node_modules\/prom-client/ },
  { stage: 'record: access line', frames: /node_modules\/pino|dist\/logger\.js/ },
  { stage: 'pipeline glue (request-path.ts hooks)', frames: /dist\/pipeline\/request-path\.js/ },
  {
    stage: 'Fastify lifecycle (routing, hooks, reply)',
    frames: /node_modules\/(fastify|find-my-way|light-my-request|avvio)/
  },
  { stage: 'Node HTTP server, sockets, streams', frames: /^node:/ }
]

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber?: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const pinned = (core: string, cmd: string, args: string[]): [string, string[]] =>
  spawnSync('which', ['taskset']).status === 0 ? ['taskset', ['-c', core, cmd, ...args]] : [cmd, args]

/** Charges every sample in [fromUs, toUs] (profile clock) to a stage; returns µs per stage. */
export function attribute(
  p: Profile,
  fromUs: number,
  toUs: number,
  detail?: string
): { byStage: Map<string, number>; idleUs: number; frames: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Node's own frames (streams, events, sockets) are charged to the gateway or library stage that
  // called them; only work with no such caller (the HTTP parser, socket reads) is Node's.
  const nodeStage = STAGES[STAGES.length - 1]
  const memo = new Map<number, string | undefined>()
  const primary = (id: number): string | undefined => {
    if (memo.has(id)) return memo.get(id)
    const f = byId.get(id)!.callFrame
    const hit = f.url === '' ? undefined : STAGES.find((s) => s !== nodeStage && s.frames.test(f.url))
    const up = parent.get(id)
    const stage = hit?.stage ?? (up === undefined ? undefined : primary(up))
    memo.set(id, stage)
    return stage
  }
  const onStack = (id: number | undefined, re: RegExp): boolean => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (re.test(byId.get(cur)!.callFrame.url)) return true
    return false
  }
  const stageOf = new Map<number, string>()
  const resolve = (id: number): string => {
    const known = stageOf.get(id)
    if (known !== undefined) return known
    const name = byId.get(id)!.callFrame.functionName
    const stage =
      name === '(idle)'
        ? '(idle)'
        : name === '(garbage collector)'
          ? 'garbage collection'
          : (primary(id) ?? (onStack(id, nodeStage.frames) ? nodeStage.stage : 'other (native, program)'))
    stageOf.set(id, stage)
    return stage
  }
  // PROFILE_DETAIL: within one stage, the time of each of its innermost frames (function, file:line).
  const detailed = detail === undefined ? undefined : STAGES.find((st) => st.stage.includes(detail))
  const frameOf = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      if (f.url !== '' && detailed!.frames.test(f.url))
        return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${byId.get(cur)!.callFrame.lineNumber ?? ''}`
    }
    return '(native, called from elsewhere)'
  }
  const frames = new Map<string, number>()
  const byStage = new Map<string, number>()
  let idleUs = 0
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]
    if (t < fromUs || t > toUs) continue
    const dt = p.timeDeltas[i + 1] ?? 0
    const stage = resolve(p.samples[i])
    if (stage === '(idle)') idleUs += dt
    else byStage.set(stage, (byStage.get(stage) ?? 0) + dt)
    if (detailed !== undefined && stage === detailed.stage) {
      const f = frameOf(p.samples[i])
      frames.set(f, (frames.get(f) ?? 0) + dt)
    }
  }
  return { byStage, idleUs, frames }
}

async function main(): Promise<void> {
  if (spawnSync('which', ['wrk']).status !== 0) throw new Error('wrk is needed (apt-get install wrk)')
  const dir = mkdtempSync(path.join(tmpdir(), 'lucid-profile-'))
  const children: ChildProcess[] = []
  try {
    const upPort = await freePort()
    const [uc, ua] = pinned('0', process.execPath, [path.join(root, 'bench/upstream.mjs')])
    children.push(spawn(uc, ua, { env: { ...process.env, PORT: String(upPort) }, stdio: 'ignore' }))
    const port = await freePort()
    const production = process.env.DATABASE_URL !== undefined && process.env.REDIS_URL !== undefined
    const env = {
      ...process.env,
      HTTP_PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      JWT_SECRET_KEY: randomBytes(32).toString('hex'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      NODE_SERVICE_URL: `http://127.0.0.1:${upPort}`,
      LOG_LEVEL: 'info',
      DOCS_ENABLED: 'false',
      JOBS_ENABLED: 'false',
      RATE_LIMIT_AUTHENTICATED: '10000000',
      RATE_LIMIT_PUBLIC: '10000000',
      RATE_LIMIT_AUTH: '10000000',
      ...(production ? { STATE_KEY_PREFIX: `profile:${Date.now()}:` } : {}),
      ...(JSON.parse(process.env.PROFILE_ENV ?? '{}') as Record<string, string>)
    }
    const profDir = path.join(dir, 'prof')
    const bare = process.env.PROFILE_TARGET === 'bare'
    const script = bare ? path.join(root, 'bench/bare-fastify.mjs') : 'dist/server.js'
    const [gc, ga] = pinned('1', process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, script])
    const gw = spawn(gc, ga, {
      env: bare ? { ...process.env, PORT: String(port), UPSTREAM: env.NODE_SERVICE_URL } : env,
      stdio: 'ignore',
      cwd: root
    })
    children.push(gw)
    const url = `http://127.0.0.1:${port}`
    await waitHttp(bare ? `${url}/__json` : `${url}/ready`)
    const bearer = bare ? 'none' : await walletToken(url)
    // The profile's clock is the process's monotonic clock; mark the window by its own end.
    const [wc, wa] = pinned('0', 'wrk', [
      '-t1',
      `-c${CONNS}`,
      `-d${DURATION}s`,
      '-H',
      `authorization: Bearer ${bearer}`,
      url + PATH
    ])
    const out = spawnSync(wc, wa, { encoding: 'utf8' }).stdout
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const stoppedAt = performance.now()
    await new Promise<void>((resolve) => {
      gw.once('exit', () => resolve())
      gw.kill('SIGTERM')
    })
    const exitedAfterMs = performance.now() - stoppedAt
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error('no profile written')
    const p = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as Profile
    if (process.env.PROFILE_KEEP !== undefined) copyFileSync(path.join(profDir, file), process.env.PROFILE_KEEP)
    // The window: the DURATION seconds that ended when wrk did (the profile ends at exit).
    const toUs = p.endTime - exitedAfterMs * 1000 - 50_000
    const fromUs = toUs - DURATION * 1e6 + 100_000
    const { byStage, idleUs, frames } = attribute(p, fromUs, toUs, process.env.PROFILE_DETAIL)
    const busy = [...byStage.values()].reduce((a, b) => a + b, 0)
    const perReq = (us: number) => (us / requests).toFixed(1)
    console.log(
      `\n${requests} requests in ${DURATION} s (${rps} req/s, ${non2xx} non-2xx), ${CONNS} connections, ${PATH}`
    )
    console.log(`configuration: ${production ? 'production (PostgreSQL + Redis)' : 'embedded'}`)
    console.log(
      `busy ${perReq(busy)} µs CPU per request; idle ${((100 * idleUs) / (busy + idleUs)).toFixed(1)}% of the window\n`
    )
    console.log('| stage | µs per request | share |')
    console.log('|---|---:|---:|')
    const order = [...STAGES.map((s) => s.stage), 'garbage collection', 'other (native, program)']
    for (const stage of order) {
      const us = byStage.get(stage)
      if (us === undefined) continue
      console.log(`| ${stage} | ${perReq(us)} | ${((100 * us) / busy).toFixed(1)}% |`)
    }
    if (frames.size > 0) {
      console.log(`\nPROFILE_DETAIL=${process.env.PROFILE_DETAIL}: innermost frames of that stage\n`)
      console.log('| frame | µs per request |')
      console.log('|---|---:|')
      for (const [f, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, 20))
        console.log(`| ${f} | ${perReq(us)} |`)
    }
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
