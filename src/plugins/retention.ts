/**
 * Retention (issue 7) beyond the jobs that live with their data (session purge in sessions,
 * backups in backups, volume samples in volumes): login sessions that expired or were revoked
 * more than AUTH_SESSION_RETENTION_DAYS ago, and finished restore records after a year.
 * Nonces, sign-in codes and idempotency records expire by themselves (TTL in the state store).
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export async function purgeExpired(app: FastifyInstance): Promise<{ auth_sessions: number; restores: number }> {
  const cutoff = new Date(app.now() - app.config.authSessionRetentionDays * 86_400_000)
  const a = await app.repos.authSessions.purgeEndedBefore(cutoff)
  const r = await app.repos.backups.purgeFinishedRestores(new Date(app.now() - 365 * 86_400_000))
  if (a + r > 0) app.log.info({ auth_sessions: a, restores: r }, 'retention: purged expired records')
  return { auth_sessions: a, restores: r }
}

export default fp(
  async function retention(app: FastifyInstance): Promise<void> {
    app.jobs.define({ name: 'auth-session-retention', everyMs: 3_600_000, run: async () => void (await purgeExpired(app)) })
  },
  { name: 'lucid-retention', dependencies: ['lucid-infrastructure'] }
)
