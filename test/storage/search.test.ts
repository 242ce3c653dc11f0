import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../helpers/app.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'
import { login } from '../helpers/identity.js'

for (const kind of dbKinds())
  describe(`search on ${kind}`, () => {
    test('finds a session by a word of its description, highlights it, suggests by prefix, aggregates, and shrugs off hostile input', async () => {
      const t = await buildTestApp({ db: await createTestDb(kind) })
      try {
        const admin = await login(t.app, { role: 'admin' })
        const owner = await login(t.app)
        for (const [name, description] of [
          ['Quarterly review', 'walkthrough of the telemetry dashboard'],
          ['Onboarding', 'teleport demo for new operators'],
          ['Incident 42', 'database failover drill']
        ]) {
          assert.equal(
            (
              await t.app.inject({
                method: 'POST',
                url: '/api/v1/sessions',
                headers: owner.auth,
                payload: { name, description }
              })
            ).statusCode,
            201
          )
        }
        const get = (url: string, who = admin) => t.app.inject({ url: `/api/v1/search${url}`, headers: who.auth })
        const post = (url: string, payload: object) =>
          t.app.inject({ method: 'POST', url: `/api/v1/search${url}`, headers: admin.auth, payload })
        assert.equal((await get('/sessions?query=telemetry', owner)).statusCode, 403)

        const r = (await get('/sessions?query=failover')).json()
        assert.equal(r.total, 1)
        assert.equal(r.hits[0].title, 'Incident 42')
        assert.match(r.hits[0].highlight, /<mark>failover<\/mark>/)
        assert.equal(r.hits[0].document.description, 'database failover drill')

        const all = (await post('/query', { query: 'telemetry OR teleport' })).json()
        assert.equal(all.hits.filter((h: { index: string }) => h.index === 'sessions').length, 2)
        const filtered = (
          await post('/query', { query: 'drill', index: 'sessions', filters: { status: 'initializing' } })
        ).json()
        assert.equal(filtered.total, 1)
        assert.equal(
          (await post('/query', { query: 'drill', index: 'sessions', filters: { password: 'x' } })).statusCode,
          422
        )
        const audit = (await get('/audit-logs?query=auth.login')).json()
        assert.ok(audit.total >= 2)

        const s = (await get('/suggest?index=sessions&query=tele')).json()
        assert.deepEqual(s.suggestions.map((x: { text: string }) => x.text).sort(), ['telemetry', 'teleport'])

        const byStatus = (await post('/aggregate', { index: 'sessions', field: 'status' })).json()
        assert.deepEqual(byStatus.buckets, [{ key: 'initializing', count: 3 }])
        const byDay = (await post('/aggregate', { index: 'sessions', interval: 'day' })).json()
        assert.equal(byDay.buckets.length, 1)
        assert.equal(byDay.buckets[0].count, 3)
        assert.equal((await post('/aggregate', { index: 'sessions', field: 'name; DROP TABLE users' })).statusCode, 422)

        const indices = (await get('/indices')).json()
        assert.equal(indices.indices.find((i: { name: string }) => i.name === 'sessions').documents, 3)

        // Any text is a valid query; SQL-looking text is just words.
        for (const q of ["'; DROP TABLE sessions; --", '"unbalanced', '!!! & | ( )', 'x:* <-> y']) {
          const res = await get(`/sessions?query=${encodeURIComponent(q)}`)
          assert.equal(res.statusCode, 200, q)
        }
        assert.equal(
          (await get(`/suggest?index=sessions&query=${encodeURIComponent("%' OR 1=1 --")}`)).json().suggestions.length,
          0
        )
        assert.equal((await get('/suggest?index=secrets&query=a')).statusCode, 422)
        assert.equal((await t.app.db.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n, 3)
      } finally {
        await t.close()
        await t.testDb.close()
      }
    })
  })
