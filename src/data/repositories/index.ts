/**
 * Every table's repository, built once from the database handle (issue 16): the app decorates
 * `app.repos` with this object, and routes and services reach tables only through it.
 */
import type { Db } from '../db.js'
import { createUsersRepository } from './users.js'
import { createAuthSessionsRepository } from './auth-sessions.js'
import { createApiKeysRepository } from './api-keys.js'
import { createAuditRepository } from './audit.js'
import { createSessionsRepository } from './sessions.js'
import { createTrustPoliciesRepository } from './trust-policies.js'
import { createBackupsRepository } from './backups.js'
import { createBackupSchedulesRepository } from './backup-schedules.js'
import { createTableDataRepository } from './table-data.js'
import { createDatabaseCatalogRepository } from './database-catalog.js'
import { createSearchRepository } from './search.js'
import { createDatabaseInfo } from './database-info.js'

export function createRepositories(db: Db, log: { warn(obj: object, msg: string): void }) {
  return {
    users: createUsersRepository(db),
    authSessions: createAuthSessionsRepository(db),
    apiKeys: createApiKeysRepository(db),
    audit: createAuditRepository(db),
    sessions: createSessionsRepository(db),
    trustPolicies: createTrustPoliciesRepository(db),
    /** The backup catalogue: backups and restores. */
    backups: createBackupsRepository(db),
    backupSchedules: createBackupSchedulesRepository(db),
    /** Whole tables read in a snapshot and written back, for backups and restores (src/backup). */
    tableData: createTableDataRepository(db),
    /** The database admin API's catalogue queries and DDL (routes/database). */
    databaseCatalog: createDatabaseCatalogRepository(db, { log }),
    /** Full-text search over the searchable tables (routes/search). */
    search: createSearchRepository(db),
    /** The handle's round trip (ms), which the readiness probe times. */
    database: createDatabaseInfo(db)
  }
}

export type Repositories = ReturnType<typeof createRepositories>
