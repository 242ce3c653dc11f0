import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { migrate } from '../../src/data/migrate.js'
import { createJobRunner, currentSlot, validateCron } from '../../src/jobs/job-runner.js'
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
          const r = createJobRunner({ db: t.db, logger: quiet, instanceId: id, now, onResult: (_j, res) => results.push(res) })
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
        const { rows } = await t.db.query<{ run_count: number; last_error: string | null }>("SELECT run_count, last_error FROM job_runs WHERE name = 'sync'")
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
        const r = createJobRunner({ db: t.db, logger: { info: () => undefined, error: (_o, m) => void errors.push(m) }, now: () => clock })
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
        const { rows } = await t.db.query<{ run_count: number; failure_count: number; last_error: string | null }>("SELECT run_count, failure_count, last_error FROM job_runs WHERE name = 'flaky'")
        assert.deepEqual(rows[0], { run_count: 2, failure_count: 1, last_error: null })
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
