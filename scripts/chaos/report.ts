/** Figures and invariants of `npm run chaos`, and RELIABILITY.md. */
import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import type { Sample } from './load.js'
import type { Loss } from './verify.js'

export interface PhaseRecord {
  name: string
  fault: string
  documented: string[]
  skipped?: string
  start: number
  faultStart: number
  /** When the fault was lifted (the restore began). */
  faultEnd: number
  /** How long the restore itself took (a restarted process starting up). */
  restoreMs: number
  end: number
  /** Per instance: RSS MB at the phase's start and end. */
  rss: [number, number][]
  probe: { admitted: number; spanMs: number }
}

export interface PhaseSummary extends PhaseRecord {
  requests: number
  answers: Record<string, number>
  p50: number
  p99: number
  probeAllowed: number
  overAdmissions: number
  lost: Loss
  undocumented: Record<string, number>
  recoveryMs: number
  late: LateFailure[]
}

export interface Summary {
  short: boolean
  commit: string
  /** Load average (1, 5, 15 min) when the run ended. */
  load: number[]
  rate: number
  at: string
  phases: PhaseSummary[]
  checkedWrites: number
  lossDetails: string[]
}

const label = (s: Sample) =>
  s.status === 0 ? `no answer@${s.instance}` : `${s.status}${s.code !== undefined ? ` ${s.code}` : ''}`
/** Failures after the fault was lifted, for the JSON output: what did not recover, and when. */
export interface LateFailure {
  afterMs: number
  label: string
  kind: string
  detail?: string
}
const bad = (s: Sample) => s.status === 0 || s.status >= 500

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10
}

export function summarise(
  records: PhaseRecord[],
  samples: Sample[],
  verified: { byPhase: Record<string, Loss>; details: string[]; checked: number },
  o: { short: boolean; rate: number; limit: { burst: number; intervalMs: number } }
): Summary {
  const phases = records.map((r, i): PhaseSummary => {
    // By when the answer came: a request sent just before the next fault and answered after it
    // belongs to that fault.
    const until = records[i + 1]?.start ?? Number.POSITIVE_INFINITY
    const mine = samples
      .filter((s) => s.kind !== 'probe' || s.phase === r.name)
      .filter((s) => s.phase !== 'setup' && s.phase !== 'verify' && s.at + s.ms >= r.start && s.at + s.ms < until)
    const answers: Record<string, number> = {}
    const undocumented: Record<string, number> = {}
    let lastBad = -1
    const late: LateFailure[] = []
    for (const s of mine) {
      const l = label(s)
      answers[l] = (answers[l] ?? 0) + 1
      if (!bad(s)) continue
      if (!r.documented.includes(l)) undocumented[`${l} (${s.kind})`] = (undocumented[`${l} (${s.kind})`] ?? 0) + 1
      if (s.at < r.faultEnd) continue
      lastBad = Math.max(lastBad, s.at + s.ms)
      if (late.length < 100)
        late.push({
          afterMs: Math.round(s.at - r.faultEnd),
          label: l,
          kind: s.kind,
          detail: s.status === 0 ? s.code : undefined
        })
    }
    const times = mine
      .filter((s) => s.status !== 0)
      .map((s) => s.ms)
      .sort((a, b) => a - b)
    // GCRA budget over the probe's span: the burst, one per interval, and one for the edges.
    const probeAllowed = o.limit.burst + Math.floor(r.probe.spanMs / o.limit.intervalMs) + 1
    return {
      ...r,
      requests: mine.length,
      answers,
      p50: quantile(times, 0.5),
      p99: quantile(times, 0.99),
      probeAllowed,
      overAdmissions: r.skipped === undefined ? Math.max(0, r.probe.admitted - probeAllowed) : 0,
      lost: verified.byPhase[r.name] ?? { missing: 0, corrupt: 0 },
      undocumented,
      recoveryMs: lastBad < 0 ? 0 : Math.max(0, Math.round(lastBad - r.faultEnd - r.restoreMs)),
      late
    }
  })
  return {
    short: o.short,
    commit: gitCommit(),
    load: loadavg(),
    rate: o.rate,
    at: new Date().toISOString(),
    phases,
    checkedWrites: verified.checked,
    lossDetails: verified.details
  }
}

/** What must hold; each violation is one line. */
export function checkInvariants(s: Summary, recoveryLimitMs = 10_000): string[] {
  const problems: string[] = []
  for (const p of s.phases) {
    if (p.skipped !== undefined) continue
    if (p.overAdmissions > 0)
      problems.push(
        `${p.name}: ${p.overAdmissions} over-admissions (${p.probe.admitted} admitted, budget ${p.probeAllowed})`
      )
    if (p.lost.missing + p.lost.corrupt > 0)
      problems.push(`${p.name}: acknowledged writes missing ${p.lost.missing}, corrupt ${p.lost.corrupt}`)
    const und = Object.entries(p.undocumented)
    if (und.length > 0)
      problems.push(`${p.name}: undocumented failures ${und.map(([k, v]) => `${k} ×${v}`).join(', ')}`)
    if (p.recoveryMs > recoveryLimitMs)
      problems.push(`${p.name}: recovered ${p.recoveryMs} ms after the fault ended (limit ${recoveryLimitMs})`)
  }
  // No growth trend: instances never restarted end the run near where the baseline left them.
  const first = s.phases[0]
  const last = s.phases.filter((p) => p.skipped === undefined).at(-1)
  if (!s.short && first !== undefined && last !== undefined) {
    for (const k of [0, 2]) {
      const [begin, end] = [first.rss[k]?.[1] ?? 0, last.rss[k]?.[1] ?? 0]
      if (begin > 0 && end > begin * 1.5 + 30)
        problems.push(`instance ${k + 1}: RSS grew from ${begin} MB to ${end} MB`)
    }
  }
  return problems
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

export function markdownReport(s: Summary, problems: string[], command: string, commit = s.commit): string {
  const fmt = (r: Record<string, number>) =>
    Object.entries(r)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join('<br>') || '—'
  const cells = (p: PhaseSummary): (string | number)[] => [
    p.name,
    p.fault,
    p.requests,
    fmt(p.answers),
    `${p.p50} / ${p.p99}`,
    `${p.overAdmissions} (${p.probe.admitted}/${p.probeAllowed})`,
    `${p.lost.missing} / ${p.lost.corrupt}`,
    Object.values(p.undocumented).reduce((a, b) => a + b, 0),
    `${(p.restoreMs / 1000).toFixed(1)} / ${(p.recoveryMs / 1000).toFixed(1)}`,
    p.rss.map(([a, b]) => `${a}→${b}`).join(', ')
  ]
  const row = (c: (string | number)[]) => `| ${c.join(' | ')} |`
  const rows = s.phases.map((p) =>
    row(p.skipped !== undefined ? [p.name, p.fault, `skipped: ${p.skipped}`, '', '', '', '', '', '', ''] : cells(p))
  )
  const header = row([
    'phase',
    'fault',
    'requests',
    'answers (status, code)',
    'p50 / p99 ms',
    'over-admissions (admitted/budget)',
    'writes missing / corrupt',
    'undocumented 5xx',
    'restore / recovery s',
    'RSS MB per instance'
  ])
  const load = (s.load ?? []).map((l) => l.toFixed(1)).join(' ')
  const verdict =
    problems.length === 0
      ? 'All invariants held.'
      : `**Invariants broken:**\n${problems.map((p) => `- ${p}`).join('\n')}`
  const findings =
    s.lossDetails.length > 0 ? `\nFirst findings:\n${s.lossDetails.map((d) => `- ${d}`).join('\n')}\n` : ''
  return `# Reliability

\`npm run chaos\` (issue 14) starts three gateway processes on one throwaway PostgreSQL and one
throwaway Redis (AOF, \`appendfsync always\`), a real upstream and a steady mixed load (proxied GETs,
POSTs with \`Idempotency-Key\`, 16 KiB chunk uploads, new sessions, wallet logins; round-robin over
the instances, no load balancer), then injects one fault after another. After the last phase
every acknowledged write is read back. \`npm run chaos -- --short\` runs in CI (\`.ci/run\`) and
fails on any broken invariant.

<!-- chaos:start -->
Run ${s.at} · commit ${commit} · ${cpus().length} cores, load average ${load} at the end
(the machine was shared with other engineers' work) · ${s.short ? 'short' : 'full'} form, ${s.rate} req/s ·
command: \`${command}\`

${header}
|---|---|---:|---|---:|---:|---:|---:|---:|---|
${rows.join('\n')}

${s.checkedWrites} acknowledged writes verified afterwards. ${verdict}
${findings}<!-- chaos:end -->

## How to read it

- **Over-admissions**: one client sends 4 requests/s, round-robin over the instances, to a route
  limited to 120/min with a burst of 20 (one request every 0.5 s). Its budget over the phase is
  the burst plus one per 0.5 s (plus one for the edges); anything admitted beyond is counted.
- **Documented fault responses** (everything else 5xx counts as undocumented): Redis hung or
  down → \`503 LUCID_ERR_5008\` for what needs the shared state (login nonces, idempotency
  records); PostgreSQL down → \`503 LUCID_ERR_5002\` (and 5008 from state that is checked
  first); upstream down or slow → \`503 LUCID_ERR_5008\`, \`503 LUCID_ERR_5007\` (breaker open),
  \`502 LUCID_ERR_5003\`, \`504 LUCID_ERR_5006\`; a killed instance → no answer from that
  instance (there is no load balancer in front); chunk volume full → \`507 LUCID_ERR_5009\`.
- **4xx in the answers** are the gateway's own limits doing their job: the probe client's 429s,
  and 409/4003 when a user reaches its cap of active sessions (\`MAX_SESSIONS_PER_USER\`).
- **Restore / recovery**: how long lifting the fault took (a restart: the process starting up),
  then from the end of that to the end of the last failed request of the phase.
- **Writes**: chunks are read back and hashed, sessions fetched, access tokens used on
  \`/users/me\`, idempotent POSTs replayed (the answer must be the recorded one, and the upstream
  must have executed the key exactly once).
- **The limiter under these faults** (defaults; README "Rate limiting" has the detail): while
  Redis answers, every decision is Redis's however busy the instances are, so a slow Redis (the
  30 ms phase) changes latency, never the count. Redis counts as failed only when its connection
  is down, a reply is 200 ms overdue after the loop has read its sockets
  (\`RATE_LIMIT_REDIS_TIMEOUT_MS\`), or 3 calls in a row fail; then each instance enforces limit ÷
  live instances (heartbeats every 1 s, counted over 5 s), starting from what Redis last told it.
  Worst case, 3 instances and a limit of 100: entering degraded mode, up to 2 requests (what the
  other instances admitted since) plus, for an identity that moves to instances that had not seen
  it, up to 66 once; leaving it, up to one share (33) if an instance reconnects more than 500 ms
  after the others. With traffic spread over the instances, as here, the probe stays within
  its budget.
- Settings that differ from the defaults: \`UPSTREAM_BREAKER_OPEN_MS=3000\` and
  \`UPSTREAM_HEALTH_INTERVAL_MS=2000\` (with the default 30 s the breaker alone keeps an upstream
  closed off for up to 30 s after it recovers), \`TRON_PAYMENT_TIMEOUT_MS=5000\`. Idempotency
  records survive a Redis restart only because this Redis persists every write (AOF).
`
}
