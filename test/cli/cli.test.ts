import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestApp, TEST_DATA_KEY, TEST_JWT_SECRET } from '../helpers/app.js'
import { createTestDb, dbKinds, type TestDb } from '../helpers/stores.js'
import { login } from '../helpers/identity.js'
import { openDb } from '../../src/data/open-db.js'
import { loadConfig } from '../../src/config.js'
import { loadMigrations } from '../../src/data/migrate.js'
import { startThrowawayRedis } from '../helpers/throwaway.js'

const run = promisify(execFile)
const BIN = path.resolve('bin/lucid-gateway.js')
const LATEST = (await loadMigrations()).length

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

async function cli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  // A clean environment: only what the test gives, so the machine's variables do not leak in.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn' }
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...base, ...env }, cwd: tmpdir(), timeout: 60_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

for (const kind of dbKinds())
  describe(`lucid-gateway CLI on ${kind}`, () => {
    test('migrate, grant-role, revoke-sessions, backup create/verify/restore, audit verify', async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-cli-'))
      let testDb: TestDb
      const env: Record<string, string> = {
        DATA_DIR: dataDir,
        JWT_SECRET_KEY: TEST_JWT_SECRET,
        DATA_ENCRYPTION_KEY: TEST_DATA_KEY
      }
      if (kind === 'postgresql') {
        testDb = await createTestDb('postgresql')
        env.DATABASE_URL = testDb.url as string
      } else {
        const db = await openDb(loadConfig(env))
        testDb = { db, close: () => db.close() }
      }
      const t = await buildTestApp({ db: testDb, env: { REVOCATION_POLL_MS: '200' } })
      let appOpen = true
      try {
        const alice = await login(t.app)
        for (const name of ['one', 'two', 'three']) {
          assert.equal(
            (await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: alice.auth, payload: { name } }))
              .statusCode,
            201
          )
        }
        if (kind === 'embedded') {
          // The test process holds the embedded database like a running gateway: the CLI refuses it.
          const refused = await cli(env, 'migrate')
          assert.equal(refused.code, 1)
          assert.match(refused.stderr, new RegExp(`in use by gateway process ${process.pid}`))
          await t.close()
          await testDb.close()
          appOpen = false
        }
        const q = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
          const db = kind === 'postgresql' ? testDb.db : await openDb(loadConfig(env))
          try {
            return (await db.query<T>(sql, params)).rows
          } finally {
            if (kind === 'embedded') await db.close()
          }
        }

        const mig = await cli(env, 'migrate')
        assert.equal(mig.code, 0, mig.stderr)
        assert.match(mig.stderr, new RegExp(`schema already at version ${LATEST}`))

        // grant-role: validated, written, audited.
        const bad = await cli(env, 'grant-role', alice.wallet.address, 'emperor')
        assert.equal(bad.code, 2)
        assert.match(bad.stderr, /role must be one of user, node_operator, admin, super_admin/)
        const nobody = await cli(env, 'grant-role', 'nobody@example.com', 'admin')
        assert.equal(nobody.code, 1)
        assert.match(nobody.stderr, /no user nobody@example.com/)
        const grant = await cli(env, 'grant-role', alice.wallet.address, 'admin')
        assert.equal(grant.code, 0, grant.stderr)
        assert.match(grant.stdout, /role user → admin/)
        assert.equal(
          (await q<{ role: string }>('SELECT role FROM users WHERE user_id = $1', [alice.userId]))[0].role,
          'admin'
        )
        assert.equal(
          (await q('SELECT 1 FROM audit_log WHERE action = $1 AND target_id = $2', ['user.role_changed', alice.userId]))
            .length,
          1
        )

        // revoke-sessions: every login session revoked; a running gateway refuses the token soon after.
        const revoke = await cli(env, 'revoke-sessions', alice.wallet.address)
        assert.equal(revoke.code, 0, revoke.stderr)
        assert.match(revoke.stdout, /revoked 1 login session/)
        assert.equal(
          (await q('SELECT 1 FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL', [alice.userId])).length,
          0
        )
        if (appOpen) {
          let status = 0
          for (let i = 0; i < 40 && status !== 401; i++) {
            status = (await t.app.inject({ url: '/api/v1/users/me', headers: alice.auth })).statusCode
            if (status !== 401) await sleep(100)
          }
          assert.equal(status, 401, 'the running gateway sees the CLI revocation')
        }

        // backup create → verify → damage the database → restore.
        const created = await cli(env, 'backup', 'create', '--name', 'before-change')
        assert.equal(created.code, 0, created.stderr)
        const id = /backup ([0-9a-f-]{36}):/.exec(created.stderr)?.[1] as string
        assert.ok(id, created.stderr)
        const manifest = JSON.parse(await readFile(path.join(dataDir, 'backups', `${id}.manifest.json`), 'utf8'))
        assert.equal(manifest.tables['public.sessions'].rows, 3)
        assert.equal(manifest.encryption, true)
        assert.equal(manifest.schema_version, LATEST)
        const raw = await readFile(path.join(dataDir, 'backups', `${id}.lbk`))
        assert.ok(
          !raw.includes(Buffer.from('before-change')) && !raw.includes(Buffer.from(alice.wallet.address)),
          'no clear text in an encrypted backup'
        )
        const verified = await cli(env, 'backup', 'verify', id)
        assert.equal(verified.code, 0, verified.stderr)
        assert.match(verified.stdout, /valid/)
        assert.match((await cli(env, 'backup', 'list')).stdout, new RegExp(`${id}  \\S+  completed  before-change`))
        assert.deepEqual(
          await q('SELECT status, name FROM backups WHERE backup_id = $1', [id]),
          [{ status: 'completed', name: 'before-change' }],
          'in the catalogue the API reads'
        )

        await q("DELETE FROM sessions WHERE name = 'two'")
        await q("UPDATE users SET role = 'user'")
        const noConfirm = await cli(env, 'backup', 'restore', id)
        assert.equal(noConfirm.code, 2)
        assert.match(noConfirm.stderr, /--confirm/)
        const restored = await cli(env, 'backup', 'restore', id, '--confirm')
        assert.equal(restored.code, 0, restored.stderr)
        assert.deepEqual(
          (await q<{ name: string }>('SELECT name FROM sessions ORDER BY name')).map((r) => r.name),
          ['one', 'three', 'two']
        )
        assert.equal(
          (await q<{ role: string }>('SELECT role FROM users WHERE user_id = $1', [alice.userId]))[0].role,
          'admin'
        )
        // The restore is itself audited, and the restored chain plus that entry still verifies.
        const audit = await cli(env, 'audit', 'verify')
        assert.equal(audit.code, 0, audit.stdout + audit.stderr)
        assert.match(audit.stdout, /audit log valid: \d+ entries, root [0-9a-f]{64}/)

        // A damaged backup file is detected before anything is touched.
        const fh = await open(path.join(dataDir, 'backups', `${id}.lbk`), 'r+')
        await fh.write(Buffer.from([0xff]), 0, 1, 40)
        await fh.close()
        const damaged = await cli(env, 'backup', 'verify', id)
        assert.equal(damaged.code, 1)
        assert.match(damaged.stderr, /SHA-256 does not match/)

        // An edited audit entry breaks the chain.
        await q(
          'UPDATE audit_log SET details = \'{"edited": true}\'::jsonb WHERE audit_id = (SELECT min(audit_id) FROM audit_log)'
        )
        const broken = await cli(env, 'audit', 'verify')
        assert.equal(broken.code, 1)
        assert.match(broken.stdout, /audit log BROKEN at entry \d+: hash does not match/)
      } finally {
        if (appOpen) {
          await t.close()
          await testDb.close()
        }
        await rm(dataDir, { recursive: true, force: true })
      }
    })
  })

test('config print masks every secret', async () => {
  const env = {
    DATABASE_URL: 'postgres://gw:hunter2-password@db.internal:5432/lucid',
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    REDIS_URL: 'redis://:redis-pass@cache:6379',
    METRICS_TOKEN: 'metrics-token-0123456789'
  }
  const r = await cli(env, 'config', 'print')
  assert.equal(r.code, 0, r.stderr)
  const printed = JSON.parse(r.stdout)
  assert.equal(printed.JWT_SECRET_KEY, '***')
  assert.equal(printed.DATA_ENCRYPTION_KEY, '***')
  assert.equal(printed.METRICS_TOKEN, '***')
  assert.equal(printed.DATABASE_URL, 'postgres://gw:***@db.internal:5432/lucid')
  for (const secret of [TEST_JWT_SECRET, TEST_DATA_KEY, 'hunter2-password', 'redis-pass', env.METRICS_TOKEN])
    assert.ok(!r.stdout.includes(secret), `${secret} leaked`)
  assert.equal(printed.HTTP_PORT, 8080)
  assert.equal(printed.RATE_LIMIT_PUBLIC, 100)
  assert.equal(printed.UPSTREAM_BREAKER_FAILURES, 5)
  assert.equal(printed.BLOCKCHAIN_CORE_URL, 'http://lucid-blocks:8084')
  // Every name printed is a variable the configuration reads (issue 13: it printed camelCase fields).
  const source = (
    await Promise.all(
      ['config/table.ts', 'tracing/settings.ts'].map((f) =>
        readFile(new URL(`../../src/${f}`, import.meta.url), 'utf8')
      )
    )
  ).join('\n')
  const unknown = Object.keys(printed).filter((name) => !source.includes(`'${name}'`))
  assert.deepEqual(unknown, [], 'config print names only environment variables')
})

test('config print --sources: every variable with its value, unit and source, secrets masked', async () => {
  const token = 'metrics-token-0123456789'
  const r = await cli({ HTTP_PORT: '9000', METRICS_TOKEN: token }, 'config', 'print', '--sources')
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^HTTP_PORT\s+9000\s+env$/m)
  assert.match(r.stdout, /^KEEP_ALIVE_TIMEOUT_MS\s+72000 ms\s+default$/m)
  assert.match(r.stdout, /^METRICS_TOKEN\s+"\*\*\*"\s+env$/m)
  assert.ok(!r.stdout.includes(token), 'the token leaked')
  assert.equal((await cli({}, 'config', 'print', '--everything')).code, 2)
})

test('config print reports every configuration problem at once', async () => {
  const r = await cli({ WORKERS: '2', JWT_SECRET_KEY: 'short' }, 'config', 'print')
  assert.equal(r.code, 1)
  assert.match(r.stderr, /JWT_SECRET_KEY must be at least 32 characters/)
  assert.match(r.stderr, /WORKERS=2 runs several processes, which needs DATABASE_URL and REDIS_URL/)
})

test('unknown commands print the usage and exit 2', async () => {
  const r = await cli({}, 'frobnicate')
  assert.equal(r.code, 2)
  assert.match(r.stderr, /unknown command "frobnicate"/)
  assert.match(r.stderr, /Usage: lucid-gateway/)
})

test('doctor with Redis stopped: a table naming the failure and its fix, exit 1', async (t) => {
  const redis = await startThrowawayRedis(t)
  if (redis === null) return
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-doctor-'))
  try {
    const env = {
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      BLOCKCHAIN_CORE_URL: 'http://127.0.0.1:9',
      TRON_PAYMENT_URL: 'http://127.0.0.1:9',
      NODE_SERVICE_URL: 'http://127.0.0.1:9'
    }
    const up = await cli(env, 'doctor')
    assert.match(up.stdout, /^redis\s+OK\s+Redis \d/m)
    await redis.stop()
    const r = await cli(env, 'doctor')
    assert.equal(r.code, 1)
    assert.match(r.stdout, /^CHECK\s+STATUS\s+DETAIL\s+FIX/m)
    assert.match(r.stdout, /^redis\s+FAIL\s+unreachable at 127\.0\.0\.1:\d+.*start Redis or correct REDIS_URL/m)
    assert.match(r.stdout, /^database\s+OK\s+embedded PGlite/m)
    assert.match(r.stdout, /^clock skew\s+OK/m)
    assert.match(r.stdout, /^upstream lucid_blocks\s+FAIL\s+http:\/\/127\.0\.0\.1:9.*correct BLOCKCHAIN_CORE_URL/m)
    assert.match(r.stdout, /^disk DATA_DIR\s+OK\s+[\d.]+ GiB free/m)
    assert.match(r.stdout, /\d+ failing, \d+ warning, \d+ ok/)
    // The data directory was opened and released: nothing holds it now.
    assert.ok(!(await readdir(dataDir)).includes('pglite.lock'))
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
