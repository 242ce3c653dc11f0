/**
 * The database admin API's catalogue repository and DDL builder (issue 16: out of routes/database),
 * on both adapters against a migrated database, checked by what the catalogue then reports.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createDatabaseCatalogRepository, USER_SCHEMA } from '../../src/data/repositories/database-catalog.js'
import {
  createIndexSql,
  createTableSql,
  defaultLiteral,
  identifier,
  partialIndexWhere,
  type ColumnDefinition
} from '../../src/data/ddl.js'
import { RECOMMENDED_INDEXES } from '../../src/data/recommended-indexes.js'
import { createTestDb, dbKinds, type TestDb } from '../helpers/stores.js'

const col = (
  name: string,
  type: ColumnDefinition['type'],
  extra: Partial<ColumnDefinition> = {}
): ColumnDefinition => ({ name, type, nullable: true, unique: false, primary_key: false, ...extra })
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

test('ddl: literals, names and statements are built from validated parts only', () => {
  assert.equal(defaultLiteral(col('a', 'text')), undefined)
  assert.equal(defaultLiteral(col('a', 'text', { default: null })), 'NULL')
  assert.equal(defaultLiteral(col('a', 'boolean', { default: false })), 'false')
  assert.equal(defaultLiteral(col('a', 'integer', { default: 7 })), '7')
  assert.throws(() => defaultLiteral(col('a', 'integer', { default: Infinity })), code('LUCID_ERR_1001'))
  assert.equal(defaultLiteral(col('a', 'text', { default: "it's" })), "'it''s'::text")
  assert.equal(defaultLiteral(col('a', 'timestamptz', { default: 'now()' })), 'now()')
  assert.equal(
    defaultLiteral(col('a', 'text', { default: 'now()' })),
    "'now()'::text",
    'a function only where its type fits'
  )
  assert.equal(defaultLiteral(col('a', 'uuid', { default: 'gen_random_uuid()' })), 'gen_random_uuid()')
  assert.equal(identifier('ok_name', 'x'), '"ok_name"')
  for (const bad of ['Users', '1a', 'a"b', 'a;b', 'a'.repeat(64)])
    assert.throws(() => identifier(bad, 'name'), code('LUCID_ERR_1001'), bad)
  assert.equal(
    createTableSql('user_data', 't', [
      col('id', 'uuid', { primary_key: true, nullable: true, unique: true }),
      col('n', 'integer', { nullable: false, unique: true, default: 0 })
    ]),
    'CREATE TABLE "user_data"."t" ("id" uuid NOT NULL, "n" integer NOT NULL UNIQUE DEFAULT 0, PRIMARY KEY ("id"))'
  )
  assert.throws(() => createTableSql('user_data', 't', [col('a', 'text'), col('a', 'integer')]), code('LUCID_ERR_1001'))
  assert.equal(partialIndexWhere(undefined), '')
  assert.equal(partialIndexWhere({ column: 'c', op: 'is_null' }), ' WHERE "c" IS NULL')
  assert.equal(
    partialIndexWhere({ column: 'c', op: 'eq', value: "x'); DROP TABLE users; --" }),
    ` WHERE "c" = 'x''); DROP TABLE users; --'`
  )
  assert.equal(partialIndexWhere({ column: 'c', op: 'eq', value: Number.NaN }), ' WHERE "c" = NULL')
  assert.throws(() => partialIndexWhere({ column: 'c', op: 'eq' }), code('LUCID_ERR_1001'))
  assert.equal(
    createIndexSql(
      'user_data',
      't',
      {
        name: 't_idx',
        columns: [
          { name: 'a', order: 'desc' },
          { name: 'b', order: 'asc' }
        ],
        unique: true,
        where: { column: 'a', op: 'is_not_null' }
      },
      true
    ),
    'CREATE UNIQUE INDEX CONCURRENTLY "t_idx" ON "user_data"."t" ("a" DESC, "b" ASC) WHERE "a" IS NOT NULL'
  )
})

for (const kind of dbKinds()) {
  describe(`database catalogue on ${kind}`, () => {
    let t: TestDb
    const warnings: unknown[] = []
    const catalog = () => createDatabaseCatalogRepository(t.db, { log: { warn: (obj) => void warnings.push(obj) } })
    before(async () => {
      t = await createTestDb(kind)
      await migrate(t.db)
      for (let i = 0; i < 3; i++)
        await createUsersRepository(t.db).createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' })
    })
    after(() => t.close())

    test('locates tables user_data first, lists them with sizes and estimates, the gateway tables read-only', async () => {
      const c = catalog()
      await c.ensureUserSchema()
      await c.ensureUserSchema()
      assert.equal(await c.locate('users'), 'public')
      assert.equal(await c.locate('no_such_table'), null)
      assert.equal(await c.nameTaken('users'), true)
      assert.equal(await c.nameTaken('no_such_table'), false)
      const all = await c.listCollections()
      assert.ok(!all.some((r) => r.name === 'schema_migrations'), 'the migration ledger is not a collection')
      const users = all.find((r) => r.name === 'users')
      assert.equal(users?.read_only, true)
      assert.ok(
        (users?.estimated_rows ?? 0) >= 3,
        `never-analyzed tables are analyzed for an estimate (${users?.estimated_rows})`
      )
      assert.ok((users?.size_bytes ?? 0) > 0)
      assert.deepEqual(warnings, [])
      const cols = await c.columns('public', 'users')
      assert.ok(cols.some((x) => x.name === 'email' && x.nullable === true))
      assert.equal(await c.hasExtension('plpgsql'), true)
      assert.equal(await c.hasExtension('no_such_extension'), false)
      assert.equal(typeof (await c.ping()), 'number')
      assert.match(await c.version(), /PostgreSQL|PGlite/)
    })

    test('creates, counts, validates, indexes, renames and drops a user_data table', async () => {
      const c = catalog()
      await c.ensureUserSchema()
      await c.createTable('notes', [
        col('id', 'uuid', { primary_key: true, default: 'gen_random_uuid()' }),
        col('title', 'text', { nullable: false }),
        col('tag', 'text', { default: "it's" })
      ])
      assert.equal(await c.locate('notes'), USER_SCHEMA)
      const [listed] = await c.listCollections({ schema: USER_SCHEMA, name: 'notes' })
      assert.equal(listed.read_only, false)
      assert.deepEqual(
        (await c.columns(USER_SCHEMA, 'notes')).map((x) => [x.name, x.nullable]),
        [
          ['id', false],
          ['title', false],
          ['tag', true]
        ]
      )
      await t.db.query("INSERT INTO user_data.notes (title) VALUES ('a'), ('b')")
      assert.equal((await t.db.query<{ tag: string }>('SELECT tag FROM user_data.notes LIMIT 1')).rows[0].tag, "it's")
      assert.equal(await c.countRows(USER_SCHEMA, 'notes'), 2)
      const checks = await c.validate(USER_SCHEMA, 'notes')
      assert.ok(
        checks.every((x) => x.ok),
        JSON.stringify(checks)
      )
      assert.ok(checks.some((x) => x.check === 'index notes_pkey'))
      assert.deepEqual(checks.at(-1), { check: 'rows', ok: true, detail: '2 rows read, 0 nulls in NOT NULL columns' })
      await assert.rejects(
        c.createTable('bad', [col('n', 'integer', { default: 'abc' })]),
        code('LUCID_ERR_1001'),
        'PostgreSQL refusing the default is a 422'
      )

      await c.createIndex('notes', {
        name: 'notes_tag_idx',
        columns: [{ name: 'tag', order: 'desc' }],
        unique: false,
        where: { column: 'tag', op: 'eq', value: "x'); DROP TABLE users; --" }
      })
      await assert.rejects(
        c.createIndex('notes', { name: 'notes_tag_idx', columns: [{ name: 'tag', order: 'asc' }], unique: false }),
        code('LUCID_ERR_4002')
      )
      const [ix] = await c.indexes(USER_SCHEMA, 'notes', 'notes_tag_idx')
      assert.match(ix.definition, /WHERE/)
      assert.equal(ix.primary, false)
      assert.deepEqual(
        (await c.indexes(USER_SCHEMA, 'notes')).map((i) => i.name),
        ['notes_pkey', 'notes_tag_idx']
      )
      assert.equal(
        await c.relationExists('public', 'notes_tag_idx'),
        false,
        'looked up in the schema it is asked about'
      )
      await c.reindexTable(USER_SCHEMA, 'notes')
      await c.dropIndex('notes_tag_idx')
      assert.equal(await c.relationExists(USER_SCHEMA, 'notes_tag_idx'), false)
      await assert.rejects(
        c.dropIndex('notes_pkey'),
        code('LUCID_ERR_1001'),
        'an index backing a constraint is refused as such'
      )

      await c.renameTable('notes', 'memos')
      assert.equal(await c.locate('notes'), null)
      assert.equal(await c.countRows(USER_SCHEMA, 'memos'), 2)
      await c.dropTable('memos')
      assert.equal(await c.locate('memos'), null)
    })

    test('statistics, slow statements and the recommended indexes', async () => {
      const c = catalog()
      const s = await c.statistics()
      assert.ok(s.size_bytes > 0)
      assert.equal(typeof s.counters.xact_commit, 'number')
      assert.ok(s.connections.total >= 1)
      const users = s.per_table.find((r) => r.name === 'public.users')
      assert.ok(users !== undefined)
      assert.equal(typeof users.seq_scan, 'number')
      const slow = await c.slowStatements(5)
      assert.ok(slow === null || Array.isArray(slow))
      const first = await c.createRecommended()
      assert.deepEqual([...first.created, ...first.existing].sort(), RECOMMENDED_INDEXES.map((i) => i.name).sort())
      assert.ok(await c.relationExists('public', 'audit_log_target_idx'))
      const second = await c.createRecommended()
      assert.deepEqual(second.created, [])
      assert.deepEqual(second.existing.sort(), RECOMMENDED_INDEXES.map((i) => i.name).sort())
    })
  })
}
