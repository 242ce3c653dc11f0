/**
 * The composition root builds every service from plain dependencies, without a server (issue 16):
 * a real embedded database, an in-memory state store, no Fastify instance.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import client from 'prom-client'
import { freezeConfig, loadConfig, type Config } from '../../src/config.js'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createAuthSessionsRepository } from '../../src/data/repositories/auth-sessions.js'
import { createAuditRepository } from '../../src/data/repositories/audit.js'
import { createSessionsRepository } from '../../src/data/repositories/sessions.js'
import { createBackupsRepository } from '../../src/data/repositories/backups.js'
import { createBackupSchedulesRepository } from '../../src/data/repositories/backup-schedules.js'
import { createTableDataRepository } from '../../src/data/repositories/table-data.js'
import { createTokenService } from '../../src/crypto/tokens.js'
import { createLimiter } from '../../src/ratelimit/limiter.js'
import { createMemoryStateStore } from '../../src/stores/memory-state-store.js'
import { createIdentityState } from '../../src/services/identity-state.js'
import { createTrafficRecorder } from '../../src/services/traffic.js'
import type { MailMessage } from '../../src/services/mailer.js'
import { createServices, type ServiceDeps } from '../../src/services/index.js'
import { createTestDb, type TestDb } from '../helpers/stores.js'

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }

interface Fixture {
  deps: ServiceDeps
  sent: MailMessage[]
  warnings: string[]
  close(): Promise<void>
}

/** Everything createServices needs, built by hand as a test or another process would. */
async function fixture(env: Record<string, string> = {}): Promise<Fixture & { t: TestDb }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-services-'))
  const config: Readonly<Config> = freezeConfig(
    loadConfig({
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789',
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ANCHOR_POLL_INTERVAL_MS: '5000',
      ...env
    })
  )
  const t = await createTestDb('embedded')
  await migrate(t.db)
  const stateStore = createMemoryStateStore()
  const repos = {
    users: createUsersRepository(t.db),
    authSessions: createAuthSessionsRepository(t.db),
    audit: createAuditRepository(t.db),
    sessions: createSessionsRepository(t.db),
    backups: createBackupsRepository(t.db),
    backupSchedules: createBackupSchedulesRepository(t.db),
    tableData: createTableDataRepository(t.db)
  }
  const sent: MailMessage[] = []
  const warnings: string[] = []
  const deps: ServiceDeps = {
    db: t.db,
    stateStore,
    repos,
    tokens: createTokenService({ secret: config.jwtSecretKey as string, accessTtlS: 900, refreshTtlS: 3600 }),
    identity: createIdentityState({
      users: repos.users,
      sessions: repos.authSessions,
      stateStore,
      pollMs: 60_000,
      onError: () => undefined
    }),
    upstreams: new Map(),
    limiter: createLimiter({ prefix: 'test:', deadlineMs: 100, failureMode: 'open', log: quiet }),
    traffic: createTrafficRecorder(),
    mailer: { transport: 'outbox', send: async (m) => void sent.push(m), close: () => undefined },
    metricsRegistry: new client.Registry(),
    config,
    now: Date.now,
    log: { ...quiet, warn: (_o, msg) => void warnings.push(msg) }
  }
  return {
    t,
    deps,
    sent,
    warnings,
    async close() {
      await stateStore.close()
      await t.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

test('createServices: every service and the one job list, from plain dependencies', async () => {
  const f = await fixture()
  try {
    const { services, jobs } = createServices(f.deps)
    assert.deepEqual(Object.keys(services).sort(), [
      'anchors',
      'auth',
      'backups',
      'chain',
      'chunkStore',
      'operator',
      'retention',
      'sessions',
      'totpBox',
      'users',
      'volumes'
    ])
    assert.deepEqual(
      jobs.map((j) => j.name),
      [
        'upstream-health',
        'anchor-poll',
        'volume-usage',
        'session-retention',
        'backup-schedules',
        'backup-retention',
        'chain-sync',
        'auth-session-retention'
      ]
    )
    assert.equal(jobs.find((j) => j.name === 'anchor-poll')?.everyMs, 5000, 'ANCHOR_POLL_INTERVAL_MS')
    assert.equal(
      services.volumes.dirOf('chunks'),
      path.join(f.deps.config.dataDir, 'chunks'),
      'the chunk store is the system volume chunks'
    )
  } finally {
    await f.close()
  }
})

test('createServices: without CHAIN_SYNC_INTERVAL_MS there is no chain-sync job', async () => {
  const f = await fixture({ CHAIN_SYNC_INTERVAL_MS: '0' })
  try {
    const names = createServices(f.deps).jobs.map((j) => j.name)
    assert.equal(names.includes('chain-sync'), false)
    assert.equal(names.length, 7)
  } finally {
    await f.close()
  }
})

test('createServices: the auth service issues and stores a wallet challenge and mails a sign-in code', async () => {
  const f = await fixture()
  try {
    const { services } = createServices(f.deps)
    const address = 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8'
    const c = await services.auth.challenge(address)
    assert.match(c.nonce, /^[0-9a-f]{32}$/)
    assert.ok(c.message.includes(address) && c.message.includes(`Nonce: ${c.nonce}`))
    const stored = JSON.parse((await f.deps.stateStore.get(`challenge:${c.nonce}`)) as string) as {
      address: string
      purpose: string
      expires_at: string
    }
    assert.deepEqual(stored, { address, message: c.message, expires_at: c.expires_at, purpose: 'login' })

    const client = { ip: '192.0.2.7', userAgent: 'test', requestId: randomUUID() }
    const email = `${randomUUID()}@example.com`
    const answer = await services.auth.sendEmailCode(email, 'login', client)
    assert.equal(answer.expires_in, 300)
    assert.equal(f.sent.length, 1)
    assert.equal(f.sent[0].to, email)
    const code = /enter this code: (\d{6})/.exec(f.sent[0].text)?.[1]
    assert.ok(code !== undefined, 'the mail carries the code')
    assert.notEqual(await f.deps.stateStore.get(`email-code:${email}`), null, 'the code is stored')
    const audit = await f.t.db.query<{ action: string; ip: string; request_id: string }>(
      "SELECT action, ip, request_id FROM audit_log WHERE action = 'auth.magic_link_sent'"
    )
    assert.deepEqual(audit.rows, [{ action: 'auth.magic_link_sent', ip: client.ip, request_id: client.requestId }])
    const metrics = await f.deps.metricsRegistry.getSingleMetricAsString('auth_events_total')
    assert.match(metrics, /auth_events_total\{event="auth\.magic_link_sent",outcome="success"\} 1/)

    const login = await services.auth.verifyEmail({ email, code }, client)
    assert.equal(login.user.email, email)
    assert.equal((await f.deps.tokens.verify(login.access_token, 'access')).sub, login.user.user_id)
  } finally {
    await f.close()
  }
})

test('createServices: the anchor service keeps a pending anchor when lucid_blocks is not configured', async () => {
  const f = await fixture()
  try {
    const { services, jobs } = createServices(f.deps)
    const { sessions, users } = f.deps.repos
    const user = (await users.createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' })).user
    const s = await sessions.create({
      session_id: randomUUID(),
      user_id: user.user_id,
      name: 's',
      description: null,
      max_size_bytes: 10,
      trust_policy_id: null,
      metadata: {}
    })
    const manifestId = randomUUID()
    await f.t.db.transaction((tx) =>
      sessions.insertManifest(
        { manifest_id: manifestId, session_id: s.session_id, merkle_root: 'ab', chunk_count: 0, total_size: 0 },
        tx
      )
    )
    const m = await services.anchors.anchor((await sessions.manifestById(manifestId))!)
    assert.equal(m.anchor_status, 'pending', 'a pending anchor is kept for the job to retry')
    assert.equal(m.anchor_error, 'lucid_blocks unreachable')
    assert.equal(f.warnings.length, 1)
    await jobs.find((j) => j.name === 'anchor-poll')!.run(new AbortController().signal)
    assert.equal((await sessions.manifestById(manifestId))?.anchor_status, 'pending')
  } finally {
    await f.close()
  }
})
