import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db.js'
import { idsSince } from './ids-since.js'
import type { Role } from '../../crypto/tokens.js'

export type UserStatus = 'active' | 'suspended' | 'deleted'
export type WalletType = 'software' | 'ledger' | 'trezor' | 'keepkey'

export interface UserRow {
  user_id: string
  username: string | null
  email: string | null
  tron_address: string | null
  wallet_type: WalletType | null
  first_name: string | null
  last_name: string | null
  role: Role
  status: UserStatus
  totp_secret_enc: string | null
  totp_enabled: boolean
  totp_last_step: number | null
  failed_totp_attempts: number
  locked_until: Date | null
  metadata: Record<string, unknown>
  created_at: Date
  updated_at: Date
  last_login_at: Date | null
  deleted_at: Date | null
}

export interface UserListFilter {
  role?: Role
  status?: UserStatus
  q?: string
  page: number
  limit: number
}

export interface UserUpdate {
  username?: string | null
  first_name?: string | null
  last_name?: string | null
  metadata?: Record<string, unknown>
  email?: string
  tron_address?: string
  wallet_type?: WalletType | null
  role?: Role
  status?: UserStatus
}

const UPDATABLE = [
  'username',
  'first_name',
  'last_name',
  'metadata',
  'email',
  'tron_address',
  'wallet_type',
  'role',
  'status'
] as const

export function createUsersRepository(db: Queryable) {
  return {
    async findById(id: string, q: Queryable = db): Promise<UserRow | null> {
      const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE user_id = $1', [id])
      return rows[0] ?? null
    },
    async findByAddress(address: string, q: Queryable = db): Promise<UserRow | null> {
      const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE tron_address = $1', [address])
      return rows[0] ?? null
    },
    async findByEmail(email: string, q: Queryable = db): Promise<UserRow | null> {
      const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE email = $1', [email.toLowerCase()])
      return rows[0] ?? null
    },
    /** Creates the account on first login; a concurrent first login of the same identity wins once. */
    async createOrGet(
      input: { tron_address?: string; email?: string; wallet_type?: WalletType | null; role: Role },
      q: Queryable = db
    ): Promise<{ user: UserRow; created: boolean }> {
      const column = input.tron_address !== undefined ? 'tron_address' : 'email'
      const value = input.tron_address ?? (input.email as string).toLowerCase()
      const { rows } = await q.query<UserRow>(
        `INSERT INTO users (user_id, tron_address, email, wallet_type, role) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          randomUUID(),
          input.tron_address ?? null,
          input.email?.toLowerCase() ?? null,
          input.wallet_type ?? null,
          input.role
        ]
      )
      if (rows[0] !== undefined) return { user: rows[0], created: true }
      const existing = await q.query<UserRow>(`SELECT * FROM users WHERE ${column} = $1`, [value])
      return { user: existing.rows[0], created: false }
    },
    async list(f: UserListFilter): Promise<{ rows: UserRow[]; total: number }> {
      const where: string[] = []
      const params: unknown[] = []
      if (f.role !== undefined) where.push(`role = $${params.push(f.role)}`)
      if (f.status !== undefined) where.push(`status = $${params.push(f.status)}`)
      if (f.q !== undefined && f.q !== '') {
        const i = params.push(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
        where.push(
          `(username ILIKE $${i} OR email ILIKE $${i} OR tron_address ILIKE $${i} OR first_name ILIKE $${i} OR last_name ILIKE $${i})`
        )
      }
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
      const total = await db.query<{ n: number }>(`SELECT count(*) AS n FROM users ${clause}`, params)
      const { rows } = await db.query<UserRow>(
        `SELECT * FROM users ${clause} ORDER BY created_at DESC, user_id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, f.limit, (f.page - 1) * f.limit]
      )
      return { rows, total: total.rows[0].n }
    },
    async update(id: string, patch: UserUpdate, q: Queryable = db): Promise<UserRow | null> {
      const sets: string[] = []
      const params: unknown[] = [id]
      for (const key of UPDATABLE) {
        if (patch[key] === undefined) continue
        const value = key === 'metadata' ? JSON.stringify(patch[key]) : patch[key]
        sets.push(`${key} = $${params.push(value)}${key === 'metadata' ? '::jsonb' : ''}`)
      }
      if (patch.status === 'deleted') sets.push('deleted_at = now()')
      if (patch.status === 'active') sets.push('deleted_at = NULL')
      sets.push('updated_at = now()')
      const { rows } = await q.query<UserRow>(
        `UPDATE users SET ${sets.join(', ')} WHERE user_id = $1 RETURNING *`,
        params
      )
      return rows[0] ?? null
    },
    async recordLogin(id: string, q: Queryable = db): Promise<void> {
      await q.query('UPDATE users SET last_login_at = now(), failed_totp_attempts = 0 WHERE user_id = $1', [id])
    },
    async setTotp(
      id: string,
      fields: { totp_secret_enc?: string | null; totp_enabled?: boolean; totp_last_step?: number | null }
    ): Promise<void> {
      const sets: string[] = []
      const params: unknown[] = [id]
      for (const [k, v] of Object.entries(fields)) sets.push(`${k} = $${params.push(v)}`)
      await db.query(`UPDATE users SET ${sets.join(', ')}, updated_at = now() WHERE user_id = $1`, params)
    },
    /** Accepts a TOTP step once: only a step later than the last accepted one moves it forward. */
    async consumeTotpStep(id: string, step: number): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE users SET totp_last_step = $2, failed_totp_attempts = 0 WHERE user_id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)',
        [id, step]
      )
      return rowCount === 1
    },
    /** Counts a wrong TOTP code; the 5th in a row locks the account (CONTRACT.md section 4). */
    async recordTotpFailure(id: string, maxAttempts: number, lockMinutes: number): Promise<{ locked: boolean }> {
      const { rows } = await db.query<{ failed_totp_attempts: number; locked_until: Date | null }>(
        `UPDATE users SET failed_totp_attempts = failed_totp_attempts + 1,
           locked_until = CASE WHEN failed_totp_attempts + 1 >= $2 THEN now() + make_interval(mins => $3) ELSE locked_until END,
           updated_at = CASE WHEN failed_totp_attempts + 1 >= $2 THEN now() ELSE updated_at END
         WHERE user_id = $1 RETURNING failed_totp_attempts, locked_until`,
        [id, maxAttempts, lockMinutes]
      )
      return { locked: rows[0] !== undefined && rows[0].failed_totp_attempts >= maxAttempts }
    },
    async unlock(id: string): Promise<UserRow | null> {
      const { rows } = await db.query<UserRow>(
        'UPDATE users SET locked_until = NULL, failed_totp_attempts = 0, updated_at = now() WHERE user_id = $1 RETURNING *',
        [id]
      )
      return rows[0] ?? null
    },
    /** Deletes the row; the schema cascades to sessions, chunks, manifests, login sessions, keys, policies. */
    async deleteById(id: string, q: Queryable = db): Promise<boolean> {
      const { rowCount } = await q.query('DELETE FROM users WHERE user_id = $1', [id])
      return rowCount === 1
    },
    /** Users changed since `since` (database clock): feeds the identity cache refresh. */
    changedSince: (since: Date) => idsSince(db, 'users', 'user_id', 'updated_at', since)
  }
}
export type UsersRepository = ReturnType<typeof createUsersRepository>
