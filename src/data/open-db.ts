import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from '../config.js'
import type { Db } from './db.js'
import { acquireEmbeddedLock } from './embedded-lock.js'

/** PostgreSQL when DATABASE_URL is set, else PGlite persisted under DATA_DIR/pglite (one process at a time). */
export async function openDb(
  config: Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'databaseStatementTimeoutMs' | 'dataDir'> &
    Partial<Pick<Config, 'embeddedDbSharedBuffersMb'>>,
  onError?: (err: Error) => void
): Promise<Db> {
  if (config.databaseUrl !== undefined) {
    // Each mode loads only its own driver: an embedded gateway never pays for pg's memory (issue 13).
    const { createPgDb } = await import('./pg-db.js')
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
    const db = await createPgliteDb({ dataDir: dir, sharedBuffersMb: config.embeddedDbSharedBuffersMb })
    const close = db.close.bind(db)
    return Object.assign(db, {
      close: async () => {
        await close()
        await release()
      }
    })
  } catch (err) {
    await release()
    throw err
  }
}
