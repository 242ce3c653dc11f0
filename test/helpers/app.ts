import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { freezeConfig, loadConfig, type Config } from '../../src/config.js'
import { createPgDb } from '../../src/data/pg-db.js'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'
import { createTestDb, createTestStateStore, type TestDb, type TestStateStore } from './stores.js'
import { after } from 'node:test'
import { attachContractValidator, type ContractChecker, type ViolationSink } from './contract.js'

// Responses that broke /openapi.json (issue 13). An injected request's violation fails the test
// that sent it, at the inject() call; one over a real socket fails the file after its tests.
const unreported = new Map<string, string>()
after(() => {
  if (unreported.size > 0)
    throw new Error(
      `${unreported.size} response(s) do not match /openapi.json:\n${[...new Set(unreported.values())].join('\n')}`
    )
})
const sink: ViolationSink = (id, line) => void unreported.set(id, line)

/** inject() that throws when the response it got does not match the document. */
function checkedInject(app: FastifyInstance): void {
  const inject = app.inject.bind(app) as (opts: unknown) => Promise<{ headers: Record<string, unknown> }>
  ;(app as { inject: unknown }).inject = (...args: unknown[]) => {
    if (args.length !== 1) return (inject as (...a: unknown[]) => unknown)(...args)
    return inject(args[0]).then((res) => {
      const id = String(res.headers['x-request-id'])
      const line = unreported.get(id)
      if (line === undefined) return res
      unreported.delete(id)
      throw new Error(line)
    })
  }
}

export const TEST_JWT_SECRET = 'test-secret-key-that-is-long-enough-0123456789'
export const TEST_DATA_KEY = randomBytes(32).toString('hex')

export interface TestApp {
  app: FastifyInstance
  config: Readonly<Config>
  testDb: TestDb
  testStore: TestStateStore
  dataDir: string
  /** Checks every response against /openapi.json (issue 13): see checkedInject and the file's after hook. */
  contract: ContractChecker
  /** Builds another gateway instance on the same database and state store (multi-instance tests). */
  sibling(env?: Record<string, string>): Promise<FastifyInstance>
  close(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  now?: () => number
  db?: TestDb
  store?: TestStateStore
  /** Registers extra routes before the app is ready (framework-level tests). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>
  /** Skip the response contract check (only for tests that send deliberately undocumented answers). */
  contract?: false
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Readonly<Config> {
  return freezeConfig(
    loadConfig({
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      JOBS_ENABLED: 'false',
      HEALTH_CACHE_MS: '0',
      // The limiter runs in every test, with limits no functional test reaches;
      // test/ratelimit sets real ones.
      RATE_LIMIT_PUBLIC: '1000000',
      RATE_LIMIT_AUTHENTICATED: '1000000',
      RATE_LIMIT_NODE_OPERATOR: '1000000',
      RATE_LIMIT_ADMIN: '1000000',
      RATE_LIMIT_AUTH: '1000000',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '2000',
      // Two test files run at once on two cores and PGlite start-up blocks the loop; shedding
      // would make functional tests flaky. test/server/load-shedding.test.ts turns it on.
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env
    })
  )
}

/**
 * Builds the gateway on an isolated database (fresh PostgreSQL database when DATABASE_URL is set,
 * in-memory PGlite otherwise) and an isolated state store (own Redis prefix or memory).
 */
export async function buildTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-test-'))
  const testDb = opts.db ?? (await createTestDb())
  const testStore = opts.store ?? (await createTestStateStore())
  const config = testConfig(dataDir, opts.env)
  const siblings: FastifyInstance[] = []
  const app = await buildApp(config, { db: testDb.db, stateStore: testStore.store, now: opts.now })
  await opts.extraRoutes?.(app)
  const checking = opts.contract !== false
  const checkers = [attachContractValidator(app, checking ? sink : undefined)]
  if (checking) checkedInject(app)
  await app.ready()
  return {
    app,
    config,
    testDb,
    testStore,
    dataDir,
    contract: checkers[0],
    async sibling(env = {}) {
      // Its own connection pool and Redis connection, like another process would have.
      const db = testDb.url !== undefined ? createPgDb({ connectionString: testDb.url, max: 3 }) : testDb.db
      const store =
        testStore.prefix !== undefined
          ? await createRedisStateStore({
              url: process.env.REDIS_URL as string,
              prefix: testStore.prefix,
              commandTimeoutMs: 2_000
            })
          : testStore.store
      const s = await buildApp(testConfig(dataDir, { ...opts.env, ...env }), { db, stateStore: store, now: opts.now })
      checkers.push(attachContractValidator(s, checking ? sink : undefined))
      if (checking) checkedInject(s)
      s.addHook('onClose', async () => {
        if (db !== testDb.db) await db.close()
        if (store !== testStore.store) await store.close()
      })
      await s.ready()
      siblings.push(s)
      return s
    },
    async close() {
      for (const s of siblings) await s.close()
      await app.close()
      if (opts.store === undefined) await testStore.close()
      if (opts.db === undefined) await testDb.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
