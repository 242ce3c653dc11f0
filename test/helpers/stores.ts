/**
 * Per-test isolation on the shared servers (issue 2, item 12): every test database is a fresh
 * PostgreSQL database (or an in-memory PGlite), every Redis user gets its own key prefix.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import type { Db } from '../../src/data/db.js'
import { createPgDb } from '../../src/data/pg-db.js'
import { createPgliteDb } from '../../src/data/pglite-db.js'
import type { StateStore } from '../../src/stores/state-store.js'
import { createMemoryStateStore } from '../../src/stores/memory-state-store.js'
import { createRedisStateStore } from '../../src/stores/redis-state-store.js'

export type DbKind = 'postgresql' | 'embedded'

export interface TestDb {
  db: Db
  url?: string
  close(): Promise<void>
}

/** A fresh PostgreSQL database on the server of `baseUrl`, dropped by close(). */
export async function createPgTestDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `lucid_t_${randomUUID().replace(/-/g, '').slice(0, 20)}`
  const admin = new pg.Client({ connectionString: baseUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(baseUrl)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

export async function createTestDb(
  kind: DbKind = process.env.DATABASE_URL ? 'postgresql' : 'embedded'
): Promise<TestDb> {
  if (kind === 'postgresql') {
    const base = process.env.DATABASE_URL
    if (!base) throw new Error('DATABASE_URL is not set')
    const tmp = await createPgTestDatabase(base)
    const db = createPgDb({ connectionString: tmp.url, max: 5 })
    return {
      db,
      url: tmp.url,
      async close() {
        await db.close()
        await tmp.drop()
      }
    }
  }
  const db = await createPgliteDb()
  return { db, close: () => db.close() }
}

/** Database kinds to run data-layer suites against: always PGlite, PostgreSQL when configured. */
export function dbKinds(): DbKind[] {
  return process.env.DATABASE_URL ? ['embedded', 'postgresql'] : ['embedded']
}

export interface TestStateStore {
  store: StateStore
  prefix?: string
  close(): Promise<void>
}

export async function createTestStateStore(
  kind: 'memory' | 'redis' = process.env.REDIS_URL ? 'redis' : 'memory',
  url = process.env.REDIS_URL
): Promise<TestStateStore> {
  if (kind === 'memory') {
    const store = createMemoryStateStore()
    return { store, close: () => store.close() }
  }
  const prefix = `lucid-test:${randomUUID()}:`
  const store = await createRedisStateStore({ url: url as string, prefix, commandTimeoutMs: 2_000 })
  return {
    store,
    prefix,
    async close() {
      await store.close()
      await deleteKeys(url as string, `${prefix}*`)
    }
  }
}

export async function deleteKeys(url: string, pattern: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      if (keys.length > 0) await r.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    r.disconnect()
  }
}
