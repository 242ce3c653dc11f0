import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { migrate } from '../../src/data/migrate.js'
import { createJobRunner, currentSlot, REPEATED_FAILURE_LOG_MS, validateCron } from '../../src/jobs/job-runner.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'

const quiet = { info: () => undefined, error: () => undefined }

for (const kind of dbKinds()) {
  describe(`job runner on ${kind}`, () => {
    test('two instances ticking the same slot run the job exactly once per slot', async () => {
      const t = await createTestDb(kind)
      try {
        await migrate(t.db)
        let clock = Date.UTC(2026, 0, 1, 0, 0, 0)
        const now = () => clock
        const runs: string[] = []
        const results: string[] = []
        const make = (id: string) => {
          const r = createJobRunner({
            db: t.db,
            logger: quiet,
            instanceId: id,
            now,
            onResult: (_j, res) => results.push(res)
          })
          r.define({ name: 'sync', everyMs: 10_000, run: async () => void runs.push(id) })
          return r
        }
        const a = make('a')
        const b = make('b')
        await Promise.all([a.tick(), b.tick()])
        assert.equal(runs.length, 0, 'a slot already past at start is not replayed')
        for (let slot = 1; slot <= 5; slot++) {
          clock += 10_000
          await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()])
          await Promise.all([a.idle(), b.idle()])
        }
        assert.equal(runs.length, 5)
        const { rows } = await t.db.query<{ run_count: number; last_error: string | null }>(
          "SELECT run_count, last_error FROM job_runs WHERE name = 'sync'"
        )
        assert.equal(rows[0].run_count, 5)
        assert.ok(results.includes('skipped'), 'the losing instance records a skip')
      } finally {
        await t.close()
      }
    })

    test('a failing job is logged and counted, and the next slot still runs', async () => {
      const t = await createTestDb(kind)
      try {
        await migrate(t.db)
        let clock = Date.UTC(2026, 0, 1)
        const errors: string[] = []
        const r = createJobRunner({
          db: t.db,
          logger: { info: () => undefined, error: (_o, m) => void errors.push(m) },
          now: () => clock
        })
        let calls = 0
        r.define({
          name: 'flaky',
          everyMs: 1_000,
          run: async () => {
            calls++
            if (calls === 1) throw new Error('upstream down')
          }
        })
        clock += 1_000
        await r.tick()
        await r.idle()
        clock += 1_000
        await r.tick()
        await r.idle()
        assert.equal(calls, 2)
        assert.deepEqual(errors, ['background job failed'])
        const { rows } = await t.db.query<{ run_count: number; failure_count: number; last_error: string | null }>(
          "SELECT run_count, failure_count, last_error FROM job_runs WHERE name = 'flaky'"
        )
        assert.deepEqual(rows[0], { run_count: 2, failure_count: 1, last_error: null })
        await r.stop()
      } finally {
        await t.close()
      }
    })

    test('a job that keeps failing the same way is logged once with its error, then calmly, then once when it recovers', async () => {
      const t = await createTestDb(kind)
      try {
        await migrate(t.db)
        let clock = Date.UTC(2026, 0, 1)
        const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = []
        const logger = {
          info: (obj: object, msg: string) =>
            void lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
          error: (obj: object, msg: string) =>
            void lines.push({ level: 'error', msg, obj: obj as Record<string, unknown> })
        }
        const r = createJobRunner({ db: t.db, logger, now: () => clock })
        let down = true
        let runs = 0
        // The message changes as the breaker opens; it is still one outage.
        r.define({
          name: 'sync',
          everyMs: 10_000,
          run: async () => {
            if (down) throw new Error(++runs % 2 === 0 ? 'Circuit open for lucid_blocks' : 'lucid_blocks: unavailable')
          }
        })
        // 15 minutes of a run every 10 s against an upstream that is down.
        for (let i = 0; i < 90; i++) {
          clock += 10_000
          await r.tick()
          await r.idle()
        }
        down = false
        clock += 10_000
        await r.tick()
        await r.idle()
        assert.equal(lines[0].msg, 'background job failed')
        assert.ok(lines[0].obj.err instanceof Error, 'the first report carries the error (and its stack)')
        const still = lines.filter((l) => l.msg === 'background job still failing')
        assert.equal(
          still.length,
          Math.floor((89 * 10_000) / REPEATED_FAILURE_LOG_MS),
          '90 failures, one reminder per 5 minutes'
        )
        assert.ok(
          still.every((l) => l.obj.err === undefined && typeof l.obj.error === 'string'),
          'reminders are one line, no stack'
        )
        assert.equal(still.at(-1)?.obj.failures, 1 + Math.floor((89 * 10_000) / REPEATED_FAILURE_LOG_MS) * 30)
        assert.deepEqual(lines.at(-1), {
          level: 'info',
          msg: 'background job recovered',
          obj: { job: 'sync', failures: 90, since: new Date(Date.UTC(2026, 0, 1) + 10_000).toISOString() }
        })
        assert.equal(lines.length, 1 + still.length + 1)
        await r.stop()
      } finally {
        await t.close()
      }
    })
  })
}

test('cron slots are the latest scheduled time, and bad expressions are refused', () => {
  const at = Date.UTC(2026, 10, 23, 3, 17, 42)
  assert.equal(currentSlot({ cron: '*/15 * * * *' }, at), Date.UTC(2026, 10, 23, 3, 15, 0))
  assert.equal(currentSlot({ cron: '0 2 * * *' }, at), Date.UTC(2026, 10, 23, 2, 0, 0))
  assert.equal(currentSlot({ everyMs: 60_000 }, at), Date.UTC(2026, 10, 23, 3, 17, 0))
  assert.equal(validateCron('0 2 * * *'), null)
  assert.match(String(validateCron('0 2 * *')), /5 fields/)
  assert.notEqual(validateCron('99 2 * * *'), null)
})
