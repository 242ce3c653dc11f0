import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'
import { login, type LoggedIn } from '../helpers/identity.js'

for (const kind of dbKinds())
  describe(`database API on ${kind}`, () => {
    let t: TestApp
    let superAdmin: LoggedIn
    let admin: LoggedIn
    let user: LoggedIn
    const call = (who: LoggedIn, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url: `/api/v1/database${url}`, headers: who.auth, payload })

    test('setup', async () => {
      t = await buildTestApp({ db: await createTestDb(kind) })
      superAdmin = await login(t.app, { role: 'super_admin' })
      admin = await login(t.app, { role: 'admin' })
      user = await login(t.app)
    })

    test('health, stats and performance', async () => {
      assert.equal((await call(user, 'GET', '/health')).statusCode, 403)
      const h = await call(admin, 'GET', '/health')
      assert.equal(h.statusCode, 200)
      const hb = h.json()
      assert.equal(hb.database.status, 'healthy')
      assert.match(hb.database.version, /PostgreSQL|PGlite/)
      assert.equal(typeof hb.database.latency_ms, 'number')
      assert.equal(hb.cache.status, 'healthy')
      assert.equal(hb.search.engine, 'postgresql-fts')
      const s = (await call(admin, 'GET', '/stats')).json()
      assert.ok(s.database.tables >= 10)
      assert.ok(s.database.size_bytes > 0)
      assert.ok(s.database.per_table.some((r: { name: string }) => r.name === 'public.users'))
      // Tables never analyzed (always so on PGlite) used to report 0 rows (issue 13).
      assert.ok(s.database.rows_estimated >= 3, `rows_estimated ${s.database.rows_estimated}`)
      const users = (await call(admin, 'GET', '/collections/users')).json()
      assert.ok(users.estimated_rows >= 3, `users: ${users.estimated_rows} estimated rows for 3 users`)
      assert.equal(typeof s.cache.keys, 'number')
      const p = (await call(admin, 'GET', '/performance')).json()
      assert.equal(typeof p.available, 'boolean')
      if (!p.available) assert.match(p.note, /pg_stat_statements/)
    })

    test('collections: create, count, validate, rename, indexes, drop; the gateway tables stay read-only', async () => {
      const list = (await call(admin, 'GET', '/collections')).json().collections
      const users = list.find((c: { name: string }) => c.name === 'users')
      assert.equal(users.read_only, true)
      assert.equal(users.schema, 'public')

      assert.equal(
        (await call(admin, 'POST', '/collections', { name: 'notes' })).statusCode,
        403,
        'admins read, super_admins write'
      )
      const created = await call(superAdmin, 'POST', '/collections', {
        name: 'notes',
        columns: [
          { name: 'id', type: 'uuid', primary_key: true, default: 'gen_random_uuid()' },
          { name: 'title', type: 'text', nullable: false },
          { name: 'score', type: 'integer', default: 0 },
          { name: 'tag', type: 'text', default: "it's" },
          { name: 'at', type: 'timestamptz', default: 'now()' }
        ]
      })
      assert.equal(created.statusCode, 201, created.body)
      assert.equal(created.json().schema, 'user_data')
      await t.app.db.query("INSERT INTO user_data.notes (title) VALUES ('a'), ('b'), ('c')")
      assert.equal((await call(admin, 'GET', '/collections/notes/count')).json().count, 3)
      const one = (await call(admin, 'GET', '/collections/notes')).json()
      assert.deepEqual(
        one.columns.map((c: { name: string }) => c.name),
        ['id', 'title', 'score', 'tag', 'at']
      )
      assert.equal(
        (await t.app.db.query<{ tag: string }>('SELECT tag FROM user_data.notes LIMIT 1')).rows[0].tag,
        "it's"
      )
      const v = (await call(admin, 'POST', '/collections/notes/validate')).json()
      assert.equal(v.valid, true)
      assert.ok(v.checks.some((c: { check: string }) => c.check.startsWith('index ')))
      assert.equal((await call(superAdmin, 'POST', '/collections', { name: 'notes' })).statusCode, 409)
      assert.equal(
        (await call(superAdmin, 'POST', '/collections', { name: 'users' })).statusCode,
        409,
        'no shadowing of the gateway tables'
      )

      const ix = await call(superAdmin, 'POST', '/collections/notes/indexes', {
        columns: [{ name: 'score', order: 'desc' }],
        where: { column: 'tag', op: 'eq', value: "x'); DROP TABLE users; --" }
      })
      assert.equal(ix.statusCode, 201, ix.body)
      assert.equal(ix.json().name, 'notes_score_idx')
      assert.match(ix.json().definition, /WHERE/)
      const uniq = await call(superAdmin, 'POST', '/collections/notes/indexes', {
        name: 'notes_title_key',
        columns: [{ name: 'title' }],
        unique: true
      })
      assert.equal(uniq.statusCode, 201)
      await t.app.db.query("INSERT INTO user_data.notes (title) VALUES ('a2')")
      assert.equal(
        (await call(superAdmin, 'POST', '/collections/notes/indexes', { columns: [{ name: 'nope' }] })).statusCode,
        422
      )
      const idx = (await call(admin, 'GET', '/collections/notes/indexes')).json().indexes
      assert.deepEqual(idx.map((i: { name: string }) => i.name).sort(), [
        'notes_pkey',
        'notes_score_idx',
        'notes_title_key'
      ])
      assert.equal((await call(admin, 'GET', '/collections/notes/indexes/notes_title_key')).json().unique, true)
      assert.equal((await call(superAdmin, 'POST', '/collections/notes/reindex')).json().indexes, 3)
      assert.equal(
        (await call(superAdmin, 'DELETE', '/collections/notes/indexes/notes_score_idx')).statusCode,
        422,
        'confirm required'
      )
      assert.equal(
        (await call(superAdmin, 'DELETE', '/collections/notes/indexes/notes_score_idx?confirm=true')).statusCode,
        204
      )
      assert.equal(
        (await call(superAdmin, 'DELETE', '/collections/notes/indexes/notes_pkey?confirm=true')).statusCode,
        422
      )

      const renamed = await call(superAdmin, 'PUT', '/collections/notes', { new_name: 'memos' })
      assert.equal(renamed.statusCode, 200)
      assert.equal(renamed.json().name, 'memos')
      assert.equal((await call(admin, 'GET', '/collections/notes')).statusCode, 404)

      // The gateway's own tables: readable, never renamed, dropped or indexed through the API.
      assert.equal((await call(admin, 'GET', '/collections/users/count')).json().count, 3)
      assert.equal((await call(superAdmin, 'PUT', '/collections/users', { new_name: 'x' })).statusCode, 403)
      assert.equal((await call(superAdmin, 'DELETE', '/collections/users?confirm=true')).statusCode, 403)
      assert.equal(
        (await call(superAdmin, 'POST', '/collections/users/indexes', { columns: [{ name: 'role' }] })).statusCode,
        403
      )

      assert.equal((await call(superAdmin, 'DELETE', '/collections/memos')).statusCode, 422)
      assert.equal((await call(admin, 'DELETE', '/collections/memos?confirm=true')).statusCode, 403)
      assert.equal((await call(superAdmin, 'DELETE', '/collections/memos?confirm=true')).statusCode, 204)
      assert.equal(
        (
          await t.app.db.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = 'user_data' AND table_name = 'memos'"
          )
        ).rows.length,
        0
      )
      assert.ok(
        (
          await t.app.db.query(
            "SELECT 1 FROM audit_log WHERE action = 'database.collection_dropped' AND target_id = 'memos'"
          )
        ).rows.length === 1
      )
    })

    test('SQL-looking names are refused before any SQL is built', async () => {
      const hostile = [
        'users; DROP TABLE users',
        'a"b',
        "x' OR '1'='1",
        'Users',
        '1abc',
        'a'.repeat(64),
        'pg_catalog.pg_class'
      ]
      for (const name of hostile) {
        const enc = encodeURIComponent(name)
        for (const [method, url, payload] of [
          ['GET', `/collections/${enc}`, undefined],
          ['GET', `/collections/${enc}/count`, undefined],
          ['POST', '/collections', { name }],
          ['PUT', '/collections/users', { new_name: name }],
          ['POST', '/collections/users/indexes', { name, columns: [{ name: 'role' }] }]
        ] as const) {
          const res = await call(superAdmin, method, url, payload)
          assert.equal(res.statusCode, 422, `${method} ${url} ${JSON.stringify(payload)} → ${res.statusCode}`)
        }
      }
      const column = await call(superAdmin, 'POST', '/collections', {
        name: 'ok_table',
        columns: [{ name: 'x; DROP TABLE users', type: 'text' }]
      })
      assert.equal(column.statusCode, 422)
      const type = await call(superAdmin, 'POST', '/collections', {
        name: 'ok_table',
        columns: [{ name: 'x', type: 'text); DROP TABLE users; --' }]
      })
      assert.equal(type.statusCode, 422)
      assert.ok((await t.app.db.query('SELECT count(*) FROM users')).rows.length === 1, 'users still there')
    })

    test('recommended indexes for the gateway tables, idempotently', async () => {
      assert.equal((await call(admin, 'POST', '/indexes/recommended')).statusCode, 403)
      const first = (await call(superAdmin, 'POST', '/indexes/recommended')).json()
      assert.ok(first.created.includes('audit_log_target_idx'))
      const second = (await call(superAdmin, 'POST', '/indexes/recommended')).json()
      assert.deepEqual(second.created, [])
      assert.deepEqual(second.existing.sort(), first.created.sort())
    })

    test('teardown', async () => {
      await t.close()
      await t.testDb.close()
    })
  })
