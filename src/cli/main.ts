/**
 * `lucid-gateway <command>`: serve, migrate, grant-role, revoke-sessions, backup, audit verify,
 * doctor, config print. Output for people on stdout, errors on stderr; exit 0 on success, 1 on
 * failure, 2 on a usage error. The backup commands are in backup-commands.ts.
 */
import { ConfigError } from '../config.js'
import { loadDotEnv, serve } from '../server.js'
import { EmbeddedDbInUseError } from '../data/embedded-lock.js'
import { loadMigrations, migrate, schemaVersion } from '../data/migrate.js'
import { createUsersRepository } from '../data/repositories/users.js'
import { createAuthSessionsRepository } from '../data/repositories/auth-sessions.js'
import { createApiKeysRepository } from '../data/repositories/api-keys.js'
import { createAuditRepository, verifyAuditChain } from '../data/repositories/audit.js'
import { openStateStore } from '../stores/open-state-store.js'
import { createIdentityState } from '../services/identity-state.js'
import { ROLES, type Role } from '../crypto/tokens.js'
import { BackupError } from '../backup/backup.js'
import { cmdBackup } from './backup-commands.js'
import { ACTOR, UsageError, config, findUser, withDb } from './context.js'
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

async function cmdMigrate(): Promise<void> {
  await withDb(
    async (db) => {
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
      bar.stop(
        res.applied.length === 0
          ? `schema already at version ${res.version}`
          : `applied ${res.applied.join(', ')}; schema at version ${res.version}`
      )
    },
    { schema: false }
  )
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
      await createAuditRepository(db).append(
        {
          ...ACTOR,
          action: 'user.role_changed',
          target_type: 'user',
          target_id: user.user_id,
          details: { from: previous, to: role, via: 'cli' }
        },
        tx
      )
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
      await createAuditRepository(db).append(
        {
          ...ACTOR,
          action: 'user.sessions_revoked',
          target_type: 'user',
          target_id: user.user_id,
          details: { revoked: revoked.length, via: 'cli' }
        },
        tx
      )
      return revoked
    })
    // Gateways see the revocation through the database poll; with Redis, tell them at once.
    const store = await openStateStore(cfg, () => undefined)
    try {
      const state = createIdentityState({
        users: createUsersRepository(db),
        sessions,
        stateStore: store,
        pollMs: cfg.revocationPollMs,
        onError: () => undefined
      })
      await Promise.all(ids.map((id) => state.sessionChanged(id)))
      await state.userChanged(user.user_id)
    } finally {
      await store.close()
    }
    console.log(`${who}: revoked ${ids.length} login session(s) and every API key`)
  })
}

async function cmdAuditVerify(): Promise<void> {
  await withDb(async (db) => {
    const r = await verifyAuditChain(db)
    if (!r.valid) {
      process.exitCode = 1
      console.log(
        `audit log BROKEN at entry ${r.first_invalid_id}: ${r.reason} (${r.entries} entries before it verify)`
      )
      return
    }
    console.log(`audit log valid: ${r.entries} entries, root ${r.root}`)
  })
}

function cmdConfigPrint(args: string[]): void {
  if (args[0] !== 'print' || args.length > 2 || (args[1] !== undefined && args[1] !== '--sources'))
    throw new UsageError('config needs print [--sources]')
  const cfg = config()
  console.log(
    args[1] === '--sources'
      ? formatSources(configSources(cfg, process.env))
      : JSON.stringify(maskedConfig(cfg, process.env), null, 2)
  )
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
