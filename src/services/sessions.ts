/**
 * Session state machine, chunk upload and manifest building (issue 6). Order of a chunk upload:
 * stream to a temporary file (hashing and counting as bytes arrive) → fsync → in one transaction
 * with the session row locked: state, duplicate index, size limit, insert the row, rename the file
 * into place → commit. A crash at any point leaves no row without its file; leftovers are swept.
 * Also: who may see a session (owner or admin), and the retention purge of soft-deleted sessions.
 */
import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { LucidError } from '../errors.js'
import type { Db } from '../data/db.js'
import type { ChunkStore } from '../chunks/chunk-store.js'
import type { SessionRow, SessionStatus, SessionsRepository, ChunkRow } from '../data/repositories/sessions.js'
import { merkleRoot } from '../merkle/merkle.js'
import { assertMayManage, roleAtLeast, type Actor } from '../auth/roles.js'
import type { UserRow } from '../data/repositories/users.js'

export const MAX_CHUNK_BYTES = 10 * 1024 * 1024

const TRANSITIONS: Record<SessionStatus, SessionStatus[]> = {
  initializing: ['active', 'terminated'],
  active: ['completed', 'terminated', 'failed'],
  completed: [],
  terminated: [],
  failed: []
}

export function assertTransition(from: SessionStatus, to: SessionStatus): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new LucidError('INVALID_STATE', `Cannot go from ${from} to ${to}`, {
      details: { status: from, requested: to, allowed: TRANSITIONS[from] }
    })
  }
}

export interface SessionsServiceDeps {
  db: Db
  sessions: SessionsRepository
  store: ChunkStore
  /** The cached account of a session's owner (identity state), for the admin-on-admin rule. */
  user: (id: string) => Promise<UserRow | null>
  /** SESSION_RETENTION_DAYS: soft-deleted sessions keep their chunks this long. */
  retentionDays: number
  log: { info(obj: object, msg: string): void }
}

export function createSessionsService(d: SessionsServiceDeps) {
  /**
   * The session if the caller owns it or is an admin; 404 otherwise (ids cannot be probed).
   * With intent 'write', an admin acting on another user's session must also pass mayManage
   * (403 on an admin's or super_admin's session, issue 12 finding 8).
   */
  async function visible(caller: Actor, id: string, intent: 'read' | 'write' = 'read'): Promise<SessionRow> {
    const s = await d.sessions.findVisible(id)
    if (s === null || (s.user_id !== caller.id && !roleAtLeast(caller.role, 'admin')))
      throw new LucidError('NOT_FOUND', 'Session not found')
    if (intent === 'write' && s.user_id !== caller.id) {
      const owner = await d.user(s.user_id)
      if (owner !== null) assertMayManage(caller, owner)
    }
    return s
  }

  /** Soft-deleted sessions past SESSION_RETENTION_DAYS: their chunk files, then their rows. */
  async function purgeDeleted(): Promise<number> {
    const ids = await d.sessions.deletedBefore(d.retentionDays, 500)
    for (const id of ids) {
      await d.store.removeSession(id)
      await d.sessions.purge(id)
    }
    if (ids.length > 0) d.log.info({ purged: ids.length }, 'purged soft-deleted sessions past retention')
    return ids.length
  }

  async function uploadChunk(
    session: SessionRow,
    index: number,
    body: Readable,
    expectedSha: string | undefined
  ): Promise<{ chunk: ChunkRow; created: boolean }> {
    // Only an active session takes chunks: initializing → active is POST /start (CONTRACT.md
    // section 3); an upload used to start it silently (issue 13).
    const notActive = (status: SessionStatus) =>
      new LucidError(
        'INVALID_STATE',
        `Chunks can only be uploaded while the session is active (it is ${status}${status === 'initializing' ? ': POST /start first' : ''})`,
        { details: { status } }
      )
    if (session.status !== 'active') throw notActive(session.status)
    const staged = await d.store.stage(session.session_id, body, (size) => {
      if (size > MAX_CHUNK_BYTES)
        throw new LucidError('CHUNK_SIZE_LIMIT', `A chunk is at most ${MAX_CHUNK_BYTES} bytes`)
      if (session.size_bytes + size > session.max_size_bytes)
        throw new LucidError('SESSION_SIZE_LIMIT', 'The session would exceed its max_size_bytes', {
          details: { max_size_bytes: session.max_size_bytes }
        })
    })
    let committed = false
    try {
      if (staged.size === 0)
        throw new LucidError('INVALID_REQUEST', 'A chunk cannot be empty', {
          details: { validation_errors: [{ field: 'body', message: 'must not be empty' }] }
        })
      if (expectedSha !== undefined && expectedSha !== staged.sha256) {
        throw new LucidError('INVALID_REQUEST', 'X-Chunk-SHA256 does not match the uploaded bytes', {
          details: {
            validation_errors: [{ field: 'X-Chunk-SHA256', message: 'does not match' }],
            received_sha256: staged.sha256
          }
        })
      }
      const result = await d.db.transaction(async (tx) => {
        const locked = await d.sessions.lock(session.session_id, tx)
        if (locked === null) throw new LucidError('NOT_FOUND', 'Session not found')
        const existing = await d.sessions.chunk(session.session_id, index, tx)
        if (existing !== null) {
          if (existing.sha256 === staged.sha256) return { chunk: existing, created: false }
          throw new LucidError('ALREADY_EXISTS', `Chunk ${index} was already uploaded with different bytes`, {
            details: { index, hash: existing.sha256 }
          })
        }
        if (locked.status !== 'active') throw notActive(locked.status)
        if (locked.size_bytes + staged.size > locked.max_size_bytes)
          throw new LucidError('SESSION_SIZE_LIMIT', 'The session would exceed its max_size_bytes', {
            details: { max_size_bytes: locked.max_size_bytes }
          })
        const chunk = await d.sessions.addChunk(
          { session_id: session.session_id, chunk_index: index, size_bytes: staged.size, sha256: staged.sha256 },
          tx
        )
        // The file is durable under its final name before the row commits.
        await d.store.commit(session.session_id, index, staged.tempPath)
        committed = true
        return { chunk, created: true }
      })
      return result
    } finally {
      if (!committed) await d.store.discard(staged.tempPath)
    }
  }

  /** Builds the manifest (RFC 6962 root over chunk hashes in index order) and completes the session. */
  async function complete(sessionId: string): Promise<string> {
    return d.db.transaction(async (tx) => {
      const s = await d.sessions.lock(sessionId, tx)
      if (s === null) throw new LucidError('NOT_FOUND', 'Session not found')
      const existing = await d.sessions.manifestBySession(sessionId, tx)
      if (existing !== null) return existing.manifest_id
      assertTransition(s.status, 'completed')
      const { rows } = await d.sessions.chunks(sessionId, undefined, tx)
      if (rows.length === 0) throw new LucidError('INVALID_STATE', 'A session without chunks cannot be completed')
      const missing: number[] = []
      for (let i = 0, j = 0; i <= rows[rows.length - 1].chunk_index; i++) {
        if (rows[j]?.chunk_index === i) j++
        else if (missing.length < 100) missing.push(i)
      }
      if (missing.length > 0)
        throw new LucidError('INVALID_STATE', 'Chunks are missing; upload them before completing', {
          details: { missing_indexes: missing }
        })
      const root = merkleRoot(rows.map((c) => Buffer.from(c.sha256, 'hex'))).toString('hex')
      const manifestId = randomUUID()
      await d.sessions.insertManifest(
        {
          manifest_id: manifestId,
          session_id: sessionId,
          merkle_root: root,
          chunk_count: rows.length,
          total_size: rows.reduce((n, c) => n + c.size_bytes, 0)
        },
        tx
      )
      await d.sessions.setStatus(sessionId, 'completed', {}, tx)
      return manifestId
    })
  }

  return { visible, uploadChunk, complete, purgeDeleted }
}
export type SessionsService = ReturnType<typeof createSessionsService>
