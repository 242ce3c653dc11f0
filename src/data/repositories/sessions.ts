import type { Queryable } from '../db.js'

export type SessionStatus = 'initializing' | 'active' | 'completed' | 'terminated' | 'failed'

export interface SessionRow {
  session_id: string
  user_id: string
  name: string
  description: string | null
  status: SessionStatus
  max_size_bytes: number
  size_bytes: number
  chunk_count: number
  trust_policy_id: string | null
  termination_reason: string | null
  metadata: Record<string, unknown>
  created_at: Date
  updated_at: Date
  started_at: Date | null
  completed_at: Date | null
  deleted_at: Date | null
  manifest_id?: string | null
  merkle_root?: string | null
}

export interface ChunkRow {
  session_id: string
  chunk_index: number
  size_bytes: number
  sha256: string
  created_at: Date
}

export interface ManifestRow {
  manifest_id: string
  session_id: string
  merkle_root: string
  chunk_count: number
  total_size: number
  created_at: Date
  anchor_status: 'pending' | 'confirmed' | 'failed' | null
  anchor_txid: string | null
  anchor_block_height: number | null
  anchor_confirmed_at: Date | null
  anchor_requested_at: Date | null
  anchor_error: string | null
}

export interface SessionListFilter {
  userId?: string
  status?: SessionStatus
  q?: string
  sort: 'created_at' | 'updated_at' | 'name'
  order: 'asc' | 'desc'
  page: number
  limit: number
}

const SELECT = `SELECT s.*, m.manifest_id, m.merkle_root FROM sessions s LEFT JOIN manifests m ON m.session_id = s.session_id`

export function createSessionsRepository(db: Queryable) {
  return {
    async findVisible(id: string, q: Queryable = db): Promise<SessionRow | null> {
      const { rows } = await q.query<SessionRow>(`${SELECT} WHERE s.session_id = $1 AND s.deleted_at IS NULL`, [id])
      return rows[0] ?? null
    },
    async lock(id: string, tx: Queryable): Promise<SessionRow | null> {
      const { rows } = await tx.query<SessionRow>(
        'SELECT * FROM sessions WHERE session_id = $1 AND deleted_at IS NULL FOR UPDATE',
        [id]
      )
      return rows[0] ?? null
    },
    async countActiveForUser(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*) AS n FROM sessions WHERE user_id = $1 AND deleted_at IS NULL',
        [userId]
      )
      return rows[0].n
    },
    async create(s: {
      session_id: string
      user_id: string
      name: string
      description: string | null
      max_size_bytes: number
      trust_policy_id: string | null
      metadata: Record<string, unknown>
    }): Promise<SessionRow> {
      await db.query(
        'INSERT INTO sessions (session_id, user_id, name, description, max_size_bytes, trust_policy_id, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)',
        [
          s.session_id,
          s.user_id,
          s.name,
          s.description,
          s.max_size_bytes,
          s.trust_policy_id,
          JSON.stringify(s.metadata)
        ]
      )
      return (await this.findVisible(s.session_id)) as SessionRow
    },
    async list(f: SessionListFilter): Promise<{ rows: SessionRow[]; total: number }> {
      const where = ['s.deleted_at IS NULL']
      const params: unknown[] = []
      if (f.userId !== undefined) where.push(`s.user_id = $${params.push(f.userId)}`)
      if (f.status !== undefined) where.push(`s.status = $${params.push(f.status)}`)
      if (f.q !== undefined && f.q.trim() !== '') {
        where.push(
          `to_tsvector('simple', s.name || ' ' || coalesce(s.description, '')) @@ plainto_tsquery('simple', $${params.push(f.q)})`
        )
      }
      const clause = where.join(' AND ')
      // sort and order come from a closed enum (schema-validated), never from free text.
      const orderBy = `s.${f.sort} ${f.order === 'asc' ? 'ASC' : 'DESC'}, s.session_id`
      const total = await db.query<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE ${clause}`, params)
      const { rows } = await db.query<SessionRow>(
        `${SELECT} WHERE ${clause} ORDER BY ${orderBy} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, f.limit, (f.page - 1) * f.limit]
      )
      return { rows, total: total.rows[0].n }
    },
    async update(id: string, fields: Record<string, unknown>, q: Queryable = db): Promise<void> {
      const sets: string[] = []
      const params: unknown[] = [id]
      for (const [k, v] of Object.entries(fields)) sets.push(`${k} = $${params.push(v)}`)
      sets.push('updated_at = now()')
      await q.query(`UPDATE sessions SET ${sets.join(', ')} WHERE session_id = $1`, params)
    },
    async setStatus(
      id: string,
      status: SessionStatus,
      extra: { reason?: string } = {},
      q: Queryable = db
    ): Promise<void> {
      await q.query(
        `UPDATE sessions SET status = $2, updated_at = now(),
           started_at = CASE WHEN $2 = 'active' AND started_at IS NULL THEN now() ELSE started_at END,
           completed_at = CASE WHEN $2 IN ('completed', 'terminated', 'failed') THEN now() ELSE completed_at END,
           termination_reason = COALESCE($3, termination_reason)
         WHERE session_id = $1`,
        [id, status, extra.reason ?? null]
      )
    },
    async softDelete(id: string): Promise<void> {
      await db.query('UPDATE sessions SET deleted_at = now(), updated_at = now() WHERE session_id = $1', [id])
    },
    async chunk(sessionId: string, index: number, q: Queryable = db): Promise<ChunkRow | null> {
      const { rows } = await q.query<ChunkRow>('SELECT * FROM chunks WHERE session_id = $1 AND chunk_index = $2', [
        sessionId,
        index
      ])
      return rows[0] ?? null
    },
    async chunks(
      sessionId: string,
      page?: { page: number; limit: number },
      q: Queryable = db
    ): Promise<{ rows: ChunkRow[]; total: number }> {
      const total = await q.query<{ n: number }>('SELECT count(*) AS n FROM chunks WHERE session_id = $1', [sessionId])
      const { rows } =
        page === undefined
          ? await q.query<ChunkRow>('SELECT * FROM chunks WHERE session_id = $1 ORDER BY chunk_index', [sessionId])
          : await q.query<ChunkRow>(
              'SELECT * FROM chunks WHERE session_id = $1 ORDER BY chunk_index LIMIT $2 OFFSET $3',
              [sessionId, page.limit, (page.page - 1) * page.limit]
            )
      return { rows, total: total.rows[0].n }
    },
    async addChunk(
      c: { session_id: string; chunk_index: number; size_bytes: number; sha256: string },
      tx: Queryable
    ): Promise<ChunkRow> {
      const { rows } = await tx.query<ChunkRow>(
        'INSERT INTO chunks (session_id, chunk_index, size_bytes, sha256) VALUES ($1, $2, $3, $4) RETURNING *',
        [c.session_id, c.chunk_index, c.size_bytes, c.sha256]
      )
      await tx.query(
        'UPDATE sessions SET size_bytes = size_bytes + $2, chunk_count = chunk_count + 1, updated_at = now() WHERE session_id = $1',
        [c.session_id, c.size_bytes]
      )
      return rows[0]
    },
    async manifestById(id: string): Promise<ManifestRow | null> {
      const { rows } = await db.query<ManifestRow>('SELECT * FROM manifests WHERE manifest_id = $1', [id])
      return rows[0] ?? null
    },
    async manifestBySession(sessionId: string, q: Queryable = db): Promise<ManifestRow | null> {
      const { rows } = await q.query<ManifestRow>('SELECT * FROM manifests WHERE session_id = $1', [sessionId])
      return rows[0] ?? null
    },
    async insertManifest(
      m: { manifest_id: string; session_id: string; merkle_root: string; chunk_count: number; total_size: number },
      tx: Queryable
    ): Promise<void> {
      await tx.query(
        'INSERT INTO manifests (manifest_id, session_id, merkle_root, chunk_count, total_size) VALUES ($1, $2, $3, $4, $5)',
        [m.manifest_id, m.session_id, m.merkle_root, m.chunk_count, m.total_size]
      )
    },
    async updateAnchor(
      manifestId: string,
      fields: Partial<
        Pick<
          ManifestRow,
          | 'anchor_status'
          | 'anchor_txid'
          | 'anchor_block_height'
          | 'anchor_confirmed_at'
          | 'anchor_requested_at'
          | 'anchor_error'
        >
      >
    ): Promise<void> {
      const sets: string[] = []
      const params: unknown[] = [manifestId]
      for (const [k, v] of Object.entries(fields)) sets.push(`${k} = $${params.push(v)}`)
      await db.query(`UPDATE manifests SET ${sets.join(', ')} WHERE manifest_id = $1`, params)
    },
    /** Whether a row exists, deleted or not (volume accounting). */
    async exists(id: string): Promise<boolean> {
      return (await db.query('SELECT 1 FROM sessions WHERE session_id = $1', [id])).rows.length > 0
    },
    /** Every session id of a user and the number of chunks they hold (privacy purge). */
    async holdingsOfUser(userId: string): Promise<{ sessionIds: string[]; chunks: number }> {
      const ids = await db.query<{ session_id: string }>('SELECT session_id FROM sessions WHERE user_id = $1', [userId])
      const n = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM chunks c JOIN sessions s USING (session_id) WHERE s.user_id = $1',
        [userId]
      )
      return { sessionIds: ids.rows.map((r) => r.session_id), chunks: Number(n.rows[0].n) }
    },
    /** Soft-deleted sessions older than `days` days (database clock), at most `limit`. */
    async deletedBefore(days: number, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ session_id: string }>(
        `SELECT session_id FROM sessions WHERE deleted_at IS NOT NULL AND deleted_at < now() - make_interval(days => $1)
         LIMIT ${Number(limit)}`,
        [days]
      )
      return rows.map((r) => r.session_id)
    },
    /** Removes the row for good (cascades to chunks and manifest). */
    async purge(id: string): Promise<void> {
      await db.query('DELETE FROM sessions WHERE session_id = $1', [id])
    },
    async pendingAnchors(limit: number): Promise<ManifestRow[]> {
      const { rows } = await db.query<ManifestRow>(
        "SELECT * FROM manifests WHERE anchor_status = 'pending' ORDER BY anchor_requested_at LIMIT $1",
        [limit]
      )
      return rows
    }
  }
}
export type SessionsRepository = ReturnType<typeof createSessionsRepository>
