/**
 * Forward-only numbered migrations (`migrations/NNN-name.sql`), applied in one transaction at
 * start and recorded with a checksum. A transaction-scoped advisory lock makes a second instance
 * starting at the same moment wait, then find nothing left to apply (issue 2, item 3).
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Db, Queryable } from './db.js'

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')
// Any constant works; it only has to be the same for every instance of the gateway.
const MIGRATION_LOCK_KEY = 7_245_001

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f)).sort()
  const out: Migration[] = []
  for (const f of files) {
    const sql = await readFile(path.join(dir, f), 'utf8')
    out.push({
      version: Number(f.slice(0, 3)),
      name: f.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex')
    })
  }
  for (let i = 0; i < out.length; i++) {
    if (out[i].version !== i + 1)
      throw new Error(`migrations must be numbered 001, 002, … without gaps; found ${out[i].name}`)
  }
  return out
}

export interface MigrateResult {
  applied: string[]
  version: number
}

export async function migrate(
  db: Db,
  opts: { dir?: string; onApply?: (name: string) => void } = {}
): Promise<MigrateResult> {
  const migrations = await loadMigrations(opts.dir)
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version'
    )
    const known = new Map(rows.map((r) => [r.version, r]))
    const latest = migrations.length
    for (const r of rows) {
      if (r.version > latest)
        throw new Error(
          `database schema version ${r.version} is newer than this gateway (${latest}); upgrade the gateway`
        )
      const m = migrations[r.version - 1]
      if (m.checksum !== r.checksum)
        throw new Error(`migration ${m.name} was edited after it was applied; add a new migration instead`)
    }
    const applied: string[] = []
    for (const m of migrations) {
      if (known.has(m.version)) continue
      opts.onApply?.(m.name)
      await tx.exec(m.sql)
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum
      ])
      applied.push(m.name)
    }
    return { applied, version: latest }
  })
}

export async function schemaVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')
  return rows[0]?.v ?? 0
}
