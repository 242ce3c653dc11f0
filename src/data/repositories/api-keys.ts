import type { Queryable } from '../db.js'
import type { Role } from '../../crypto/tokens.js'

export interface ApiKeyRow {
  key_id: string
  user_id: string
  name: string
  prefix: string
  key_hash: string
  role: Role
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
  revoked_at: Date | null
}

export function createApiKeysRepository(db: Queryable) {
  return {
    async create(k: Omit<ApiKeyRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<ApiKeyRow> {
      const { rows } = await db.query<ApiKeyRow>(
        'INSERT INTO api_keys (key_id, user_id, name, prefix, key_hash, role, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [k.key_id, k.user_id, k.name, k.prefix, k.key_hash, k.role, k.expires_at]
      )
      return rows[0]
    },
    async findByHash(hash: string): Promise<ApiKeyRow | null> {
      const { rows } = await db.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = $1', [hash])
      return rows[0] ?? null
    },
    async listForUser(userId: string): Promise<ApiKeyRow[]> {
      const { rows } = await db.query<ApiKeyRow>(
        'SELECT * FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC',
        [userId]
      )
      return rows
    },
    async countActive(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*) AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL',
        [userId]
      )
      return rows[0].n
    },
    async revoke(userId: string, keyId: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND user_id = $2 AND revoked_at IS NULL',
        [keyId, userId]
      )
      return rowCount === 1
    },
    async revokeAllForUser(userId: string, q: Queryable = db): Promise<void> {
      await q.query('UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId])
    },
    async touch(keyId: string): Promise<void> {
      await db.query('UPDATE api_keys SET last_used_at = now() WHERE key_id = $1', [keyId])
    }
  }
}
export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>
