/**
 * Retention (issue 7) beyond the jobs that live with their data (session purge in sessions,
 * backups in backups, volume samples in volumes): login sessions that expired or were revoked
 * more than AUTH_SESSION_RETENTION_DAYS ago, and finished restore records after a year.
 * Nonces, sign-in codes and idempotency records expire by themselves (TTL in the state store).
 */
import type { AuthSessionsRepository } from '../data/repositories/auth-sessions.js'
import type { BackupsRepository } from '../data/repositories/backups.js'

/** Finished restore records are kept this long, ms (a year). */
const RESTORE_RECORDS_MS = 365 * 86_400_000

export interface RetentionDeps {
  authSessions: AuthSessionsRepository
  backups: BackupsRepository
  /** AUTH_SESSION_RETENTION_DAYS. */
  authSessionRetentionDays: number
  now: () => number
  log: { info(obj: object, msg: string): void }
}

export function createRetention(d: RetentionDeps) {
  async function purgeExpired(): Promise<{ auth_sessions: number; restores: number }> {
    const a = await d.authSessions.purgeEndedBefore(new Date(d.now() - d.authSessionRetentionDays * 86_400_000))
    const r = await d.backups.purgeFinishedRestores(new Date(d.now() - RESTORE_RECORDS_MS))
    if (a + r > 0) d.log.info({ auth_sessions: a, restores: r }, 'retention: purged expired records')
    return { auth_sessions: a, restores: r }
  }
  return { purgeExpired }
}
export type Retention = ReturnType<typeof createRetention>
