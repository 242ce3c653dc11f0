/**
 * `npm run chaos` (issue 14): three gateway processes on one throwaway PostgreSQL and one
 * throwaway Redis, a real upstream and a steady mixed load, while faults are injected one after
 * another. Per phase it reports requests, answers by status and code, p50/p99, over-admissions,
 * acknowledged writes missing or corrupt afterwards, time to recover and RSS; it writes
 * RELIABILITY.md and exits 1 when an invariant does not hold.
 *
 *   npm run chaos                 full form (about 8 minutes), rewrites RELIABILITY.md
 *   npm run chaos -- --short      short form for CI (about 2–3 minutes), prints only
 *   options: --out FILE (write the report there), --json FILE (the figures as JSON),
 *            --render FILE.json (rewrite the report from an earlier run's JSON)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Skip, startStack, type Stack } from './stack.js'
import { agentFor, call, closeAgents, startLoad, startProbe, walletLogin, type Sample, type User } from './load.js'
import { verifyAcked } from './verify.js'
import { checkInvariants, markdownReport, summarise, type PhaseRecord, type Summary } from './report.js'

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const short = args.includes('--short')
const out = flag('--out') ?? (short ? undefined : 'RELIABILITY.md')
const jsonOut = flag('--json')
const T = short
  ? { baseline: 5_000, fault: 6_000, after: 6_000, rate: 25 }
  : { baseline: 30_000, fault: 25_000, after: 20_000, rate: 40 }
const started = Date.now()
const now = () => Date.now() - started
const log = (m: string) => console.log(`[chaos ${(now() / 1000).toFixed(1)} s] ${m}`)

interface Phase {
  name: string
  fault: string
  /** Answers that are this fault's documented responses ("503 LUCID_ERR_5008"; "no answer" = connection refused). */
  documented: string[]
  inject?(s: Stack): Promise<void> | void
  /** Runs every second while the fault lasts (flapping). */
  during?(s: Stack, second: number): void
  restore?(s: Stack): Promise<void> | void
  skip?(s: Stack): string | undefined
}

const UPSTREAM_DOWN = ['503 LUCID_ERR_5008', '503 LUCID_ERR_5007', '502 LUCID_ERR_5003', '504 LUCID_ERR_5006']
const PHASES: Phase[] = [
  { name: 'baseline', fault: 'none', documented: [] },
  {
    name: 'redis_slow',
    fault: 'every Redis packet delayed 30 ms each way (TCP proxy)',
    documented: [],
    inject: (s) => s.redisProxy.setDelay(30),
    restore: (s) => s.redisProxy.setDelay(0)
  },
  {
    name: 'redis_hung',
    fault: 'Redis stopped with SIGSTOP, then SIGCONT',
    documented: ['503 LUCID_ERR_5008'],
    inject: (s) => s.redis.signal('SIGSTOP'),
    restore: (s) => s.redis.signal('SIGCONT')
  },
  {
    name: 'redis_killed',
    fault: 'Redis SIGKILLed, restarted from its AOF',
    documented: ['503 LUCID_ERR_5008'],
    inject: (s) => s.redis.stop(),
    restore: (s) => s.redis.start()
  },
  {
    name: 'postgres_stopped',
    fault: 'PostgreSQL stopped (pg_ctl -m immediate), then started',
    documented: ['503 LUCID_ERR_5002', '503 LUCID_ERR_5008'],
    inject: (s) => s.pg.stop(),
    restore: (s) => s.pg.start()
  },
  {
    name: 'upstream_flapping',
    fault: 'upstream refusing connections every other second',
    documented: UPSTREAM_DOWN,
    during: (s, sec) => s.upstream(sec % 2 === 0 ? 'down' : 'ok'),
    restore: (s) => s.upstream('ok')
  },
  {
    name: 'upstream_slow',
    fault: 'upstream answering after 2.5 s',
    documented: UPSTREAM_DOWN,
    inject: (s) => s.upstream('slow', 2_500),
    restore: (s) => s.upstream('ok')
  },
  {
    name: 'gateway_killed',
    fault: 'gateway instance 2 SIGKILLed, then restarted',
    documented: ['no answer@1'],
    inject: (s) => s.killGateway(1),
    restore: (s) => s.restartGateway(1)
  },
  {
    name: 'disk_full',
    fault: 'chunk volume (tmpfs) filled to the last byte, then freed',
    documented: ['507 LUCID_ERR_5009'],
    inject: (s) => s.fillDisk?.(),
    restore: (s) => s.freeDisk?.(),
    skip: (s) => (s.fillDisk === undefined ? 'no private tmpfs for the chunk store (needs root)' : undefined)
  }
]

async function setupUsers(stack: Stack): Promise<User[]> {
  const users: User[] = []
  for (let i = 0; i < 6; i++) {
    const agent = agentFor(`127.0.2.${i + 1}`)
    const li = await walletLogin(stack.gateways[i % 3].url, agent)
    if (li.token === undefined) throw new Error(`setup login failed: ${li.status} ${li.code ?? ''}`)
    const user: User = { token: li.token, agent, sessions: [] }
    for (let k = 0; k < 3; k++) {
      const r = await call(`${stack.gateways[k].url}/api/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${li.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `chaos-setup-${i}-${k}` }),
        agent
      })
      if (r.status !== 201) throw new Error(`setup session failed: ${r.status} ${r.code ?? ''}`)
      user.sessions.push({ id: (JSON.parse(r.text) as { session_id: string }).session_id, next: 0 })
    }
    users.push(user)
  }
  return users
}

async function main(): Promise<number> {
  const render = flag('--render')
  if (render !== undefined) {
    // Re-renders a report from the JSON of an earlier run (after a change to the text).
    const saved = JSON.parse(readFileSync(render, 'utf8')) as Summary & { problems: string[] }
    writeFileSync(
      out ?? 'RELIABILITY.md',
      markdownReport(saved, saved.problems, `npm run chaos${saved.short ? ' -- --short' : ''}`, saved.commit)
    )
    return 0
  }
  log(
    `${short ? 'short' : 'full'} form: baseline ${T.baseline / 1000} s, ` +
      `each fault ${T.fault / 1000} s + ${T.after / 1000} s after, ${T.rate} req/s`
  )
  let stack: Stack
  try {
    stack = await startStack({
      log,
      env: {
        RATE_LIMIT_AUTHENTICATED: '1000000',
        // The over-admission probe: 120 per minute with a burst of 20 (one every 0.5 s).
        RATE_LIMIT_RULES: JSON.stringify([
          { name: 'chaos_probe', path: '/api/v1/meta/version', key: 'ip', limit: 120, period_s: 60, burst: 20 }
        ])
      }
    })
  } catch (err) {
    if (err instanceof Skip) {
      console.log(`SKIPPED: ${err.message}`)
      return process.env.CI === 'true' ? 1 : 0
    }
    throw err
  }
  const records: PhaseRecord[] = []
  let current = 'setup'
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const users = await setupUsers(stack)
    load = startLoad({ urls: stack.gateways.map((g) => g.url), users, rate: T.rate, now, phase: () => current })
    for (const [i, p] of PHASES.entries()) {
      const skipped = p.skip?.(stack)
      if (skipped !== undefined) {
        log(`SKIPPED phase ${p.name}: ${skipped}`)
        records.push({
          name: p.name,
          fault: p.fault,
          documented: p.documented,
          skipped,
          start: now(),
          faultStart: now(),
          faultEnd: now(),
          restoreMs: 0,
          end: now(),
          rss: [],
          probe: { admitted: 0, spanMs: 0 }
        })
        continue
      }
      await stack.reviveCrashed()
      current = p.name
      const rssStart = stack.gateways.map((_, k) => stack.rssMb(k))
      const start = now()
      const probe = startProbe({
        urls: stack.gateways.map((g) => g.url),
        ip: `127.0.4.${i + 1}`,
        perS: 4,
        phase: p.name,
        now,
        samples: load.samples
      })
      log(`phase ${p.name}: ${p.fault}`)
      const faultStart = now()
      await p.inject?.(stack)
      const faultMs = p.name === 'baseline' ? T.baseline : T.fault
      for (let sec = 0; sec * 1000 < faultMs; sec++) {
        p.during?.(stack, sec)
        await sleep(Math.min(1000, faultMs - sec * 1000))
      }
      const faultEnd = now()
      await p.restore?.(stack)
      const restoreMs = now() - faultEnd
      if (p.name !== 'baseline') await sleep(T.after)
      const counted = await probe.stop()
      records.push({
        name: p.name,
        fault: p.fault,
        documented: p.documented,
        start,
        faultStart,
        faultEnd,
        restoreMs,
        end: now(),
        rss: rssStart.map((r, k) => [r, stack.rssMb(k)]),
        probe: counted
      })
    }
    current = 'verify'
    await load.stop()
    log('load stopped; verifying acknowledged writes')
    await stack.reviveCrashed()
    const verified = await verifyAcked({
      url: stack.gateways[0].url,
      acked: load.acked,
      executions: await stack.upstreamExecutions()
    })
    const summary = summarise(records, load.samples as Sample[], verified, {
      short,
      rate: T.rate,
      limit: { burst: 20, intervalMs: 500 }
    })
    const problems = [...checkInvariants(summary), ...stack.crashes.map((c) => `${c} on its own (a crash)`)]
    const report = markdownReport(summary, problems, `npm run chaos${short ? ' -- --short' : ''}`)
    console.log(report)
    if (out !== undefined) writeFileSync(out, report)
    if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ ...summary, problems }, null, 2))
    for (const p of problems) console.error(`INVARIANT: ${p}`)
    return problems.length === 0 ? 0 : 1
  } finally {
    await load?.stop().catch(() => undefined)
    await closeAgents()
    await stack.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err)
    process.exit(1)
  }
)
