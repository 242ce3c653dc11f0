/**
 * What the CLI's commands share: the usage error (exit 2), the audit actor of a command, and how a
 * command reads the configuration and opens the database.
 */
import { freezeConfig, loadConfig, type Config } from '../config.js'
import { ensureEmbeddedSecrets } from '../secrets.js'
import { loadDotEnv } from '../server.js'
import type { Db } from '../data/db.js'
import { openDb } from '../data/open-db.js'
import { loadMigrations, schemaVersion } from '../data/migrate.js'
import { createUsersRepository } from '../data/repositories/users.js'

/** A wrong command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

export const ACTOR = { actor_id: null, actor_role: 'cli' }

export function config(): Config {
  loadDotEnv()
  return loadConfig(process.env)
}

/** Opens the database for a command; refuses when the schema is not current (except for migrate). */
export async function withDb<T>(
  fn: (db: Db, cfg: Readonly<Config>) => Promise<T>,
  opts: { schema?: boolean } = {}
): Promise<T> {
  const cfg = freezeConfig(
    await ensureEmbeddedSecrets(config(), { warn: (_o, msg) => process.stderr.write(`warning: ${msg}\n`) })
  )
  const db = await openDb(cfg)
  try {
    if (opts.schema !== false) {
      const [current, latest] = await Promise.all([
        schemaVersion(db).catch(() => 0),
        loadMigrations().then((m) => m.length)
      ])
      if (current !== latest)
        throw new Error(
          `database schema is at version ${current}, this gateway needs ${latest}: run \`lucid-gateway migrate\` first`
        )
    }
    return await fn(db, cfg)
  } finally {
    await db.close()
  }
}

export async function findUser(db: Db, who: string) {
  const users = createUsersRepository(db)
  if (/^[0-9a-f-]{36}$/i.test(who)) return users.findById(who.toLowerCase())
  if (who.includes('@')) return users.findByEmail(who.toLowerCase())
  return users.findByAddress(who)
}
