import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from '../config.js'
import type { Db } from './db.js'
import { createPgDb } from './pg-db.js'
import { acquireEmbeddedLock } from './embedded-lock.js'

/** PostgreSQL when DATABASE_URL is set, else PGlite persisted under DATA_DIR/pglite (one process at a time). */
export async function openDb(config: Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'databaseStatementTimeoutMs' | 'dataDir'>, onError?: (err: Error) => void): Promise<Db> {
  if (config.databaseUrl !== undefined) {
    return createPgDb({
      connectionString: config.databaseUrl,
      max: config.databasePoolMax,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      onError
    })
  }
  const dir = path.join(config.dataDir, 'pglite')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const release = await acquireEmbeddedLock(config.dataDir)
  try {
    // Loaded only in embedded mode: PGlite's module is large and a PostgreSQL deployment never needs it.
    const { createPgliteDb } = await import('./pglite-db.js')
    const db = await createPgliteDb({ dataDir: dir })
    const close = db.close.bind(db)
    return Object.assign(db, { close: async () => { await close(); await release() } })
  } catch (err) {
    await release()
    throw err
  }
}
