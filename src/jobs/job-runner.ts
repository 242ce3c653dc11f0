/**
 * Background jobs (issue 2, item 11): interval or 5-field cron jobs. Every instance ticks, but a
 * scheduled run (a "slot": the scheduled time in ms) is claimed in the database with one
 * conditional upsert, so exactly one instance runs it, and a lease keeps a slow run from
 * overlapping the next. No Fastify import: the plugin in src/plugins/jobs.ts wires it in.
 */
import { randomUUID } from 'node:crypto'
import { CronExpressionParser } from 'cron-parser'
import type { Db } from '../data/db.js'
import { createJobRunsRepository } from '../data/repositories/job-runs.js'
import type { Context } from '@opentelemetry/api'
import type { Tracing } from '../tracing/provider.js'
import { inRootSpan } from '../tracing/spans.js'

export interface JobDefinition {
  name: string
  /** Run every `everyMs` milliseconds (slots aligned to the epoch). */
  everyMs?: number
  /** Or a 5-field cron expression, evaluated in UTC. */
  cron?: string
  /** Longest a run may hold the job before another instance may take a later slot, ms (default 10 min). */
  leaseMs?: number
  /** Run on every instance (no database claim): for per-instance work such as health checks. */
  perInstance?: boolean
  /** `parent`: the run's span context when tracing is on, for the upstream calls it makes. */
  run(signal: AbortSignal, parent?: Context): Promise<void>
}

export interface JobLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** A job that keeps failing the same way is reported again at most this often (ms). */
export const REPEATED_FAILURE_LOG_MS = 5 * 60_000

export interface JobRunnerOptions {
  db: Db
  logger: JobLogger
  instanceId?: string
  now?: () => number
  /** How often each instance looks for due slots, ms (default 1000). */
  tickMs?: number
  onResult?: (job: string, result: 'success' | 'failure' | 'skipped', durationS: number) => void
  /** Each run becomes the root span of its own trace (issue 17); absent = untraced. */
  tracing?: Tracing
}

export interface JobRunner {
  define(job: JobDefinition): void
  start(): void
  /** Stops scheduling, aborts running jobs' signals and waits for them to finish. */
  stop(): Promise<void>
  /** Runs one scheduling pass now (tests drive this with an injected clock). */
  tick(): Promise<void>
  /** Resolves when every run started so far has finished. */
  idle(): Promise<void>
  readonly jobs: readonly string[]
}

export function validateCron(expr: string): string | null {
  if (expr.trim().split(/\s+/).length !== 5) return 'cron expression must have 5 fields (minute hour day month weekday)'
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' })
    return null
  } catch (err) {
    return (err as Error).message
  }
}

/** The most recent scheduled time at or before `now`, in ms. */
export function currentSlot(job: Pick<JobDefinition, 'everyMs' | 'cron'>, now: number): number {
  if (job.everyMs !== undefined) return Math.floor(now / job.everyMs) * job.everyMs
  const it = CronExpressionParser.parse(job.cron as string, { tz: 'UTC', currentDate: new Date(now + 1) })
  return it.prev().getTime()
}

export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const now = opts.now ?? Date.now
  const instanceId = opts.instanceId ?? randomUUID()
  const defs = new Map<string, JobDefinition & { lastSeenSlot: number }>()
  // Per job: the failure episode being reported, so a dependency that stays down (chain-sync
  // without a reachable lucid_blocks) is said once with its stack, then calmly, then on recovery.
  const failing = new Map<string, { message: string; since: number; count: number; loggedAt: number }>()

  function recordOutcome(job: string, err: unknown): void {
    const prev = failing.get(job)
    if (err === undefined) {
      if (prev !== undefined)
        opts.logger.info(
          { job, failures: prev.count, since: new Date(prev.since).toISOString() },
          'background job recovered'
        )
      failing.delete(job)
      return
    }
    const message = (err as Error).message ?? String(err)
    const t = now()
    if (prev === undefined) {
      opts.logger.error({ job, err }, 'background job failed')
      failing.set(job, { message, since: t, count: 1, loggedAt: t })
      return
    }
    // Still the same outage even when its message changes (unreachable → circuit open → …).
    prev.count++
    prev.message = message
    if (t - prev.loggedAt < REPEATED_FAILURE_LOG_MS) return
    prev.loggedAt = t
    opts.logger.error(
      { job, error: message, failures: prev.count, since: new Date(prev.since).toISOString() },
      'background job still failing'
    )
  }
  const jobRuns = createJobRunsRepository(opts.db)
  const running = new Map<string, Promise<void>>()
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let ticking = false

  async function claim(job: JobDefinition, slot: number): Promise<boolean> {
    const lease = job.leaseMs ?? 600_000
    return jobRuns.claim(job.name, slot, instanceId, now() + lease, now())
  }

  async function execute(job: JobDefinition): Promise<void> {
    const started = performance.now()
    let error: string | null = null
    try {
      if (opts.tracing === undefined) await job.run(abort.signal)
      else {
        const attributes = { 'lucid.job.name': job.name }
        await inRootSpan(opts.tracing, `job ${job.name}`, attributes, (ctx) => job.run(abort.signal, ctx))
      }
      recordOutcome(job.name, undefined)
    } catch (err) {
      error = (err as Error).message ?? String(err)
      recordOutcome(job.name, err)
    }
    const durationS = (performance.now() - started) / 1000
    opts.onResult?.(job.name, error === null ? 'success' : 'failure', durationS)
    if (job.perInstance === true) return
    await jobRuns
      .finish(job.name, error, instanceId)
      .catch((err) => opts.logger.error({ job: job.name, err }, 'could not record job result'))
  }

  async function tick(): Promise<void> {
    if (ticking || abort.signal.aborted) return
    ticking = true
    try {
      for (const job of defs.values()) {
        const slot = currentSlot(job, now())
        if (slot <= job.lastSeenSlot || running.has(job.name)) continue
        let won = false
        try {
          won = job.perInstance === true || (await claim(job, slot))
        } catch (err) {
          opts.logger.error({ job: job.name, err }, 'could not claim job slot')
          continue
        }
        job.lastSeenSlot = slot
        if (!won) {
          opts.onResult?.(job.name, 'skipped', 0)
          continue
        }
        const p = execute(job).finally(() => running.delete(job.name))
        running.set(job.name, p)
      }
    } finally {
      ticking = false
    }
  }

  return {
    define(job) {
      if ((job.everyMs === undefined) === (job.cron === undefined))
        throw new Error(`job ${job.name}: give exactly one of everyMs or cron`)
      if (job.cron !== undefined) {
        const problem = validateCron(job.cron)
        if (problem !== null) throw new Error(`job ${job.name}: ${problem}`)
      }
      // Slots already past at definition time are not run: a restart does not replay a backlog.
      defs.set(job.name, { ...job, lastSeenSlot: currentSlot(job, now()) })
    },
    start() {
      if (timer !== undefined) return
      timer = setInterval(() => void tick(), opts.tickMs ?? 1_000)
      timer.unref()
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer)
      abort.abort()
      await Promise.allSettled([...running.values()])
    },
    tick,
    async idle() {
      await Promise.allSettled([...running.values()])
    },
    get jobs() {
      return [...defs.keys()]
    }
  }
}
