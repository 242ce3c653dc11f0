/**
 * `lucid-gateway <command>`: serve, migrate, grant-role, revoke-sessions, backup, audit verify,
 * doctor, config print. Output for people on stdout, errors on stderr; exit 0 on success, 1 on
 * failure, 2 on a usage error.
 */
import { parseArgs } from 'node:util'
import { ConfigError, freezeConfig, loadConfig, type Config } from '../config.js'
import { ensureEmbeddedSecrets } from '../secrets.js'
import { loadDotEnv, serve } from '../server.js'
import type { Db } from '../data/db.js'
import { openDb } from '../data/open-db.js'
import { EmbeddedDbInUseError } from '../data/embedded-lock.js'
import { loadMigrations, migrate, schemaVersion } from '../data/migrate.js'
import { createUsersRepository } from '../data/repositories/users.js'
import { createAuthSessionsRepository } from '../data/repositories/auth-sessions.js'
import { createApiKeysRepository } from '../data/repositories/api-keys.js'
import { createAuditRepository, verifyAuditChain } from '../data/repositories/audit.js'
import { openStateStore } from '../stores/open-state-store.js'
import { createIdentityState } from '../services/identity-state.js'
import { ROLES, type Role } from '../crypto/tokens.js'
import { BackupError, restoreBackup, verifyBackup } from '../backup/backup.js'
import { createBackupService } from '../backup/service.js'
import { formatTable, runDoctor } from './doctor.js'
import { configSources, formatSources, maskedConfig } from './mask.js'
import { progress } from './progress.js'

const USAGE = `Usage: lucid-gateway <command> [options]

Commands:
  serve                                  start the gateway (WORKERS=N for several processes)
  migrate                                apply pending database migrations
  grant-role <tron_address|email> <role> set a user's role (${ROLES.join(', ')})
  revoke-sessions <user>                 revoke every login session and API key of a user
                                         (user id, TRON address or email)
  backup create [--name N] [--tables a,b] [--no-compression] [--no-encryption] [--retention-days D]
  backup list
  backup verify <backup_id>
  backup restore <backup_id> --confirm   replace the tables' content with the backup's (the audit
                                         log is never rolled back: the restore is appended to it)
  audit verify                           check the audit log's hash chain
  doctor                                 check configuration, database, Redis, upstreams, disk, clock
  config print [--sources]               effective configuration, secrets masked (--sources: every
                                         variable with its value and whether env or default set it)

Settings come from the environment and ./.env (see .env.example).`

class UsageError extends Error {}

const ACTOR = { actor_id: null, actor_role: 'cli' }

function config(): Config {
  loadDotEnv()
  return loadConfig(process.env)
}

/** Opens the database for a command; refuses when the schema is not current (except for migrate). */
async function withDb<T>(fn: (db: Db, cfg: Readonly<Config>) => Promise<T>, opts: { schema?: boolean } = {}): Promise<T> {
  const cfg = freezeConfig(await ensureEmbeddedSecrets(config(), { warn: (_o, msg) => process.stderr.write(`warning: ${msg}\n`) }))
  const db = await openDb(cfg)
  try {
    if (opts.schema !== false) {
      const [current, latest] = await Promise.all([schemaVersion(db).catch(() => 0), loadMigrations().then((m) => m.length)])
      if (current !== latest) throw new Error(`database schema is at version ${current}, this gateway needs ${latest}: run \`lucid-gateway migrate\` first`)
    }
    return await fn(db, cfg)
  } finally {
    await db.close()
  }
}

async function findUser(db: Db, who: string) {
  const users = createUsersRepository(db)
  if (/^[0-9a-f-]{36}$/i.test(who)) return users.findById(who.toLowerCase())
  if (who.includes('@')) return users.findByEmail(who.toLowerCase())
  return users.findByAddress(who)
}

async function cmdMigrate(): Promise<void> {
  await withDb(async (db) => {
    const all = await loadMigrations()
    const before = await schemaVersion(db).catch(() => 0)
    const bar = progress('migrate')
    let done = 0
    const res = await migrate(db, {
      onApply: (name) => {
        done++
        bar.update(done, all.length - before, name)
      }
    })
    bar.stop(res.applied.length === 0 ? `schema already at version ${res.version}` : `applied ${res.applied.join(', ')}; schema at version ${res.version}`)
  }, { schema: false })
}

async function cmdGrantRole(who: string | undefined, role: string | undefined): Promise<void> {
  if (who === undefined || role === undefined) throw new UsageError('grant-role needs <tron_address|email> <role>')
  if (!ROLES.includes(role as Role)) throw new UsageError(`role must be one of ${ROLES.join(', ')}`)
  await withDb(async (db) => {
    const user = await findUser(db, who)
    if (user === null) throw new Error(`no user ${who} (a user exists after their first login)`)
    const previous = user.role
    await db.transaction(async (tx) => {
      await createUsersRepository(db).update(user.user_id, { role: role as Role }, tx)
      await createAuditRepository(db).append({ ...ACTOR, action: 'user.role_changed', target_type: 'user', target_id: user.user_id, details: { from: previous, to: role, via: 'cli' } }, tx)
    })
    // Every gateway re-reads changed users from the database within REVOCATION_POLL_MS.
    console.log(`${who}: role ${previous} → ${role}`)
  })
}

async function cmdRevokeSessions(who: string | undefined): Promise<void> {
  if (who === undefined) throw new UsageError('revoke-sessions needs <user> (id, TRON address or email)')
  await withDb(async (db, cfg) => {
    const user = await findUser(db, who)
    if (user === null) throw new Error(`no user ${who}`)
    const sessions = createAuthSessionsRepository(db)
    const ids = await db.transaction(async (tx) => {
      const revoked = await sessions.revokeAllForUser(user.user_id, 'admin_revoked', tx)
      await createApiKeysRepository(db).revokeAllForUser(user.user_id, tx)
      await createAuditRepository(db).append({ ...ACTOR, action: 'user.sessions_revoked', target_type: 'user', target_id: user.user_id, details: { revoked: revoked.length, via: 'cli' } }, tx)
      return revoked
    })
    // Gateways see the revocation through the database poll; with Redis, tell them at once.
    const store = await openStateStore(cfg, () => undefined)
    try {
      const state = createIdentityState({ users: createUsersRepository(db), sessions, stateStore: store, pollMs: cfg.revocationPollMs, onError: () => undefined })
      await Promise.all(ids.map((id) => state.sessionChanged(id)))
      await state.userChanged(user.user_id)
    } finally {
      await store.close()
    }
    console.log(`${who}: revoked ${ids.length} login session(s) and every API key`)
  })
}

function keyOf(cfg: Readonly<Config>): Buffer | undefined {
  return cfg.dataEncryptionKey
}

function backupService(db: Db, cfg: Readonly<Config>) {
  const audit = createAuditRepository(db)
  return createBackupService({ db, dir: cfg.backupDir, key: keyOf(cfg), now: Date.now, audit: (e) => audit.append({ ...ACTOR, ...e, details: { ...e.details, via: 'cli' } }), log: { info: () => undefined, error: () => undefined } })
}

async function cmdBackup(sub: string | undefined, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tables: { type: 'string' },
      'no-compression': { type: 'boolean' },
      'no-encryption': { type: 'boolean' },
      'retention-days': { type: 'string' },
      confirm: { type: 'boolean' }
    }
  })
  if (sub === 'create') {
    const retention = values['retention-days'] === undefined ? 30 : Number(values['retention-days'])
    if (!Number.isInteger(retention) || retention < 1 || retention > 3650) throw new UsageError('--retention-days must be an integer between 1 and 3650')
    await withDb(async (db, cfg) => {
      const bar = progress('backup')
      // Through the backup service, so the backup is in the catalogue the API and the metrics read.
      const b = await backupService(db, cfg).run(
        {
          name: values.name ?? `cli-${new Date().toISOString().replace(/[:.]/g, '-')}`,
          tables: values.tables?.split(',').map((t) => t.trim()).filter(Boolean),
          compression: values['no-compression'] !== true,
          encryption: values['no-encryption'] !== true,
          retention_days: retention
        },
        null,
        (p) => bar.update(p.tableIndex + (p.totalRows === 0 ? 1 : p.rows / p.totalRows), p.tableCount, p.table)
      )
      if (b.status !== 'completed') throw new Error(`backup ${b.backup_id} failed: ${b.error ?? 'unknown error'}`)
      const counts = Object.values(b.row_counts ?? {})
      bar.stop(`backup ${b.backup_id}: ${counts.length} tables, ${counts.reduce((a, n) => a + n, 0)} rows, ${b.size_bytes} bytes${b.encryption ? ', encrypted' : ''} → ${cfg.backupDir}`)
    })
    return
  }
  if (sub === 'list') {
    await withDb(async (db, cfg) => {
      const { rows } = await backupService(db, cfg).list({ page: 1, limit: 100 })
      if (rows.length === 0) console.log(`no backups in ${cfg.backupDir}`)
      for (const b of rows) console.log(`${b.backup_id}  ${new Date(b.created_at).toISOString()}  ${b.status}  ${b.name}  ${b.size_bytes ?? 0} bytes  schema ${b.schema_version ?? '-'}${b.encryption ? '  encrypted' : ''}`)
    })
    return
  }
  const cfg = freezeConfig(await ensureEmbeddedSecrets(config(), { warn: () => undefined }))
  const id = positionals[0]
  if (id === undefined) throw new UsageError(`backup ${sub ?? ''} needs <backup_id>`)
  if (sub === 'verify') {
    const r = await verifyBackup(cfg.backupDir, id, keyOf(cfg))
    console.log(`backup ${id}: valid (${r.tables} tables, ${r.rows} rows; checksums, encryption tag and row counts match)`)
    return
  }
  if (sub === 'restore') {
    if (values.confirm !== true) throw new UsageError('restore replaces the content of every backed-up table: add --confirm')
    await withDb(async (db) => {
      const bar = progress('restore')
      const r = await restoreBackup(db, cfg.backupDir, id, keyOf(cfg), { onProgress: (p) => bar.update(p.rows, p.totalRows, p.table) })
      await createAuditRepository(db).append({ ...ACTOR, action: 'backup.restored', target_type: 'backup', target_id: id, details: { rows: r.rows, via: 'cli' } })
      bar.stop(`restored backup ${id}: ${r.tables} tables, ${r.rows} rows`)
    })
    return
  }
  throw new UsageError('backup needs create, list, verify <id> or restore <id> --confirm')
}

async function cmdAuditVerify(): Promise<void> {
  await withDb(async (db) => {
    const r = await verifyAuditChain(db)
    if (!r.valid) {
      process.exitCode = 1
      console.log(`audit log BROKEN at entry ${r.first_invalid_id}: ${r.reason} (${r.entries} entries before it verify)`)
      return
    }
    console.log(`audit log valid: ${r.entries} entries, root ${r.root}`)
  })
}

function cmdConfigPrint(args: string[]): void {
  if (args[0] !== 'print' || args.length > 2 || (args[1] !== undefined && args[1] !== '--sources')) throw new UsageError('config needs print [--sources]')
  const cfg = config()
  console.log(args[1] === '--sources' ? formatSources(configSources(cfg, process.env)) : JSON.stringify(maskedConfig(cfg, process.env), null, 2))
}

async function cmdDoctor(): Promise<void> {
  loadDotEnv()
  const results = await runDoctor(process.env)
  console.log(formatTable(results))
  const failed = results.filter((r) => r.status === 'fail').length
  const warned = results.filter((r) => r.status === 'warn').length
  console.log(`\n${failed} failing, ${warned} warning, ${results.length - failed - warned} ok`)
  if (failed > 0) process.exitCode = 1
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve':
      return serve()
    case 'migrate':
      return cmdMigrate()
    case 'grant-role':
      return cmdGrantRole(rest[0], rest[1])
    case 'revoke-sessions':
      return cmdRevokeSessions(rest[0])
    case 'backup':
      return cmdBackup(rest[0], rest.slice(1))
    case 'audit':
      if (rest[0] !== 'verify') throw new UsageError('audit needs verify')
      return cmdAuditVerify()
    case 'doctor':
      return cmdDoctor()
    case 'config':
      return cmdConfigPrint(rest)
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE)
      return
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

export function run(argv = process.argv.slice(2)): void {
  main(argv).catch((err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`lucid-gateway: ${err.message}\n\n${USAGE}`)
      process.exitCode = 2
    } else if (err instanceof ConfigError || err instanceof EmbeddedDbInUseError || err instanceof BackupError) {
      console.error(`lucid-gateway: ${err.message}`)
      process.exitCode = 1
    } else {
      console.error(`lucid-gateway: ${(err as Error).message}`)
      process.exitCode = 1
    }
  })
}
