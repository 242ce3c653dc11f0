import type { Queryable } from '../db.js'
import { idsSince } from './ids-since.js'

export interface AuthSessionRow {
  session_id: string
  user_id: string
  method: 'wallet' | 'email'
  refresh_jti: string
  previous_refresh_jti: string | null
  rotated_at: Date | null
  ip: string | null
  user_agent: string | null
  created_at: Date
  last_used_at: Date
  expires_at: Date
  revoked_at: Date | null
  revoked_reason: string | null
}

export type ActiveAuthSession = Pick<
  AuthSessionRow,
  'session_id' | 'user_id' | 'created_at' | 'expires_at' | 'last_used_at' | 'ip' | 'user_agent'
>

export function createAuthSessionsRepository(db: Queryable) {
  return {
    async create(
      s: {
        session_id: string
        user_id: string
        method: 'wallet' | 'email'
        refresh_jti: string
        ip: string | null
        user_agent: string | null
        expires_at: Date
      },
      q: Queryable = db
    ): Promise<AuthSessionRow> {
      const { rows } = await q.query<AuthSessionRow>(
        `INSERT INTO auth_sessions (session_id, user_id, method, refresh_jti, ip, user_agent, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [s.session_id, s.user_id, s.method, s.refresh_jti, s.ip, s.user_agent, s.expires_at]
      )
      return rows[0]
    },
    async findById(id: string, q: Queryable = db): Promise<AuthSessionRow | null> {
      const { rows } = await q.query<AuthSessionRow>('SELECT * FROM auth_sessions WHERE session_id = $1', [id])
      return rows[0] ?? null
    },
    /**
     * Rotation as a compare-and-swap on the current refresh jti: of two concurrent refreshes with
     * the same token exactly one succeeds; the other sees a reused token.
     */
    async rotate(id: string, fromJti: string, toJti: string, expiresAt: Date): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE auth_sessions SET previous_refresh_jti = refresh_jti, refresh_jti = $3, rotated_at = now(), last_used_at = now(), expires_at = $4
         WHERE session_id = $1 AND refresh_jti = $2 AND revoked_at IS NULL`,
        [id, fromJti, toJti, expiresAt]
      )
      return rowCount === 1
    },
    async touch(id: string): Promise<void> {
      await db.query('UPDATE auth_sessions SET last_used_at = now() WHERE session_id = $1', [id])
    },
    async revoke(id: string, reason: string, q: Queryable = db): Promise<boolean> {
      const { rowCount } = await q.query(
        'UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE session_id = $1 AND revoked_at IS NULL',
        [id, reason]
      )
      return rowCount === 1
    },
    async revokeAllForUser(userId: string, reason: string, q: Queryable = db): Promise<string[]> {
      const { rows } = await q.query<{ session_id: string }>(
        'UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING session_id',
        [userId, reason]
      )
      return rows.map((r) => r.session_id)
    },
    async listActiveForUser(userId: string): Promise<AuthSessionRow[]> {
      const { rows } = await db.query<AuthSessionRow>(
        'SELECT * FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC',
        [userId]
      )
      return rows
    },
    /** Active (unrevoked, unexpired at `now`) login sessions, newest first, optionally of one user. */
    async listActive(f: {
      now: Date
      userId?: string
      page: number
      limit: number
    }): Promise<{ rows: ActiveAuthSession[]; total: number }> {
      const params: unknown[] = [f.now]
      const filter = f.userId === undefined ? '' : `AND user_id = $${params.push(f.userId)}`
      const where = `WHERE revoked_at IS NULL AND expires_at > $1 ${filter}`
      const [rows, count] = await Promise.all([
        db.query<ActiveAuthSession>(
          `SELECT session_id, user_id, created_at, expires_at, last_used_at, ip, user_agent FROM auth_sessions ${where}
           ORDER BY created_at DESC LIMIT ${Number(f.limit)} OFFSET ${(Number(f.page) - 1) * Number(f.limit)}`,
          params
        ),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM auth_sessions ${where}`, params)
      ])
      return { rows: rows.rows, total: Number(count.rows[0].n) }
    },
    /** Deletes sessions that expired or were revoked before `cutoff`; returns how many. */
    async purgeEndedBefore(cutoff: Date): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM auth_sessions WHERE expires_at < $1 OR revoked_at < $1', [
        cutoff
      ])
      return rowCount
    },
    /** Sessions revoked since `since` (database clock), for the revocation cache refresh. */
    revokedSince: (since: Date) => idsSince(db, 'auth_sessions', 'session_id', 'revoked_at', since)
  }
}
export type AuthSessionsRepository = ReturnType<typeof createAuthSessionsRepository>
