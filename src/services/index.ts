/**
 * The composition root of the service tier (issue 16): every service is built here from plain
 * dependencies (database, repositories, state store, token service, identity state, upstream
 * clients, rate limiter, traffic recorder, mailer, metrics registry, config, clock, logger), never
 * from the Fastify instance, and comes back with the one list of background jobs. src/plugins/
 * services.ts decorates `app.services` with the result and registers the jobs; tests call
 * createServices without a server (test/services/composition.test.ts).
 *
 * Services: auth (login flows) and its TOTP secret box, sessions and the chunk store, manifest
 * anchors, backups, volumes, the lucid_blocks copy (chain), the operator views, retention and the
 * account lifecycle (users: the privacy purge).
 * Jobs, in this order: upstream-health (per instance), anchor-poll, volume-usage, session-retention,
 * backup-schedules, backup-retention, chain-sync (when CHAIN_SYNC_INTERVAL_MS > 0),
 * auth-session-retention.
 */
import type { Context } from '@opentelemetry/api'
import path from 'node:path'
import client from 'prom-client'
import type { Config } from '../config.js'
import type { Db } from '../data/db.js'
import type { StateStore } from '../stores/state-store.js'
import type { TokenService } from '../crypto/tokens.js'
import { createSecretBox, type SecretBox } from '../crypto/secret-box.js'
import type { UsersRepository } from '../data/repositories/users.js'
import type { AuthSessionsRepository } from '../data/repositories/auth-sessions.js'
import type { AuditRepository } from '../data/repositories/audit.js'
import type { SessionsRepository } from '../data/repositories/sessions.js'
import type { BackupsRepository } from '../data/repositories/backups.js'
import type { BackupSchedulesRepository } from '../data/repositories/backup-schedules.js'
import type { TableDataRepository } from '../data/repositories/table-data.js'
import { createChainRepository, type ChainRepository } from '../data/repositories/chain.js'
import type { JobDefinition } from '../jobs/job-runner.js'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import type { Limiter } from '../ratelimit/limiter.js'
import { createFsChunkStore, type ChunkStore } from '../chunks/chunk-store.js'
import { createBackupService, type BackupService } from '../backup/service.js'
import { createChainSync, type ChainSync } from '../chain/sync.js'
import { createVolumeService, type VolumeService } from '../volumes/volumes.js'
import { anchorJob, createAnchorService, type AnchorService } from './anchor.js'
import { createAuthService, type AuthService } from './auth/service.js'
import { createSessionsService, type SessionsService } from './sessions.js'
import { createOperatorServices, type OperatorServices } from './operator.js'
import { createRetention, type Retention } from './retention.js'
import { createUserService, type UserService } from './users.js'
import type { IdentityState } from './identity-state.js'
import type { Mailer } from './mailer.js'
import type { TrafficRecorder } from './traffic.js'

export interface ServiceDeps {
  db: Db
  stateStore: StateStore
  repos: {
    users: UsersRepository
    authSessions: AuthSessionsRepository
    audit: AuditRepository
    sessions: SessionsRepository
    backups: BackupsRepository
    backupSchedules: BackupSchedulesRepository
    tableData: TableDataRepository
  }
  tokens: TokenService
  identity: IdentityState
  upstreams: ReadonlyMap<string, UpstreamClient>
  limiter: Limiter
  traffic: Pick<TrafficRecorder, 'report'>
  mailer: Mailer
  /** Where the auth_events_total counter is registered. */
  metricsRegistry: client.Registry
  config: Readonly<Config>
  now: () => number
  log: {
    info(obj: object, msg: string): void
    warn(obj: object, msg: string): void
    error(obj: object, msg: string): void
  }
}

export interface Services {
  auth: AuthService
  /** Seals TOTP secrets (DATA_ENCRYPTION_KEY, its own HKDF label). */
  totpBox: SecretBox
  sessions: SessionsService
  chunkStore: ChunkStore
  anchors: AnchorService
  backups: BackupService
  volumes: VolumeService
  chain: { repo: ChainRepository; sync: ChainSync }
  operator: OperatorServices
  retention: Retention
  /** Account lifecycle across tables and files (the privacy purge). */
  users: UserService
}

export function createServices(deps: ServiceDeps): { services: Services; jobs: JobDefinition[] } {
  const { config, repos, db, now, log } = deps
  const chainClient = () => deps.upstreams.get('lucid_blocks')

  const totpBox = createSecretBox(config.dataEncryptionKey as Buffer, 'totp-secret')
  const authEvents = new client.Counter({
    name: 'auth_events_total',
    help: 'Identity events (logins, failures, logouts, refreshes, accounts created) by event and outcome',
    labelNames: ['event', 'outcome'],
    registers: [deps.metricsRegistry]
  })
  const auth = createAuthService({
    config,
    db,
    store: deps.stateStore,
    tokens: deps.tokens,
    users: repos.users,
    sessions: repos.authSessions,
    identity: deps.identity,
    mailer: deps.mailer,
    totpBox,
    now,
    audit: (entry, info) => {
      authEvents.inc({ event: entry.action, outcome: entry.outcome ?? 'success' })
      return repos.audit.append({ ip: info.ip, request_id: info.requestId, ...entry })
    }
  })

  const chunkStore = createFsChunkStore(config.chunkStoreDir ?? path.join(config.dataDir, 'chunks'))
  const sessions = createSessionsService({
    db,
    sessions: repos.sessions,
    store: chunkStore,
    user: (id) => deps.identity.user(id),
    retentionDays: config.sessionRetentionDays,
    log
  })
  const anchors = createAnchorService({ sessions: repos.sessions, chainClient, log })
  const backups = createBackupService({
    backups: repos.backups,
    schedules: repos.backupSchedules,
    tableData: repos.tableData,
    stateStore: deps.stateStore,
    dir: config.backupDir,
    key: config.dataEncryptionKey,
    now,
    audit: (e) => repos.audit.append(e),
    log
  })
  const volumes = createVolumeService({
    db,
    root: config.volumesRoot,
    systemDirs: { chunks: config.chunkStoreDir ?? path.join(config.dataDir, 'chunks'), backups: config.backupDir },
    now,
    sessionExists: (id) => repos.sessions.exists(id)
  })
  const chainRepo = createChainRepository(db)
  const chain = { repo: chainRepo, sync: createChainSync({ db, repo: chainRepo, client: chainClient, log }) }
  const operator = createOperatorServices({
    db,
    config,
    limiter: deps.limiter,
    traffic: deps.traffic,
    chainRepo,
    chainClient
  })
  const retention = createRetention({
    authSessions: repos.authSessions,
    backups: repos.backups,
    authSessionRetentionDays: config.authSessionRetentionDays,
    now,
    log
  })

  const users = createUserService({
    db,
    users: repos.users,
    sessions: repos.sessions,
    audit: repos.audit,
    chunkStore,
    identity: deps.identity,
    log
  })

  const jobs: JobDefinition[] = [
    {
      name: 'upstream-health',
      everyMs: config.upstreamHealthIntervalMs,
      // Every instance checks for itself: breaker state is per instance.
      perInstance: true,
      run: async () => void (await Promise.all([...deps.upstreams.values()].map((c) => c.checkHealth())))
    },
    anchorJob(anchors, repos.sessions, config.anchorPollIntervalMs),
    { name: 'volume-usage', everyMs: 300_000, run: async () => void (await volumes.sample()) },
    // Soft-deleted sessions keep their chunks until they are older than SESSION_RETENTION_DAYS.
    { name: 'session-retention', everyMs: 3_600_000, run: async () => void (await sessions.purgeDeleted()) },
    { name: 'backup-schedules', everyMs: 60_000, run: async () => void (await backups.runSchedules()) },
    { name: 'backup-retention', everyMs: 3_600_000, run: async () => void (await backups.cleanup()) },
    ...(config.chainSyncIntervalMs > 0
      ? [
          {
            name: 'chain-sync',
            everyMs: config.chainSyncIntervalMs,
            leaseMs: 5 * 60_000,
            run: async (signal: AbortSignal, parent?: Context) => void (await chain.sync.run(signal, parent))
          }
        ]
      : []),
    { name: 'auth-session-retention', everyMs: 3_600_000, run: async () => void (await retention.purgeExpired()) }
  ]
  return {
    services: { auth, totpBox, sessions, chunkStore, anchors, backups, volumes, chain, operator, retention, users },
    jobs
  }
}
