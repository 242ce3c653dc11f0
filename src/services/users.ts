/**
 * Account lifecycle that spans several tables and the chunk files (issue 16): the privacy purge
 * erases a user and everything they own in one transaction, leaving only the audit entry.
 */
import type { Db } from '../data/db.js'
import type { UsersRepository } from '../data/repositories/users.js'
import type { SessionsRepository } from '../data/repositories/sessions.js'
import type { AuditEntry, AuditRepository } from '../data/repositories/audit.js'
import type { ChunkStore } from '../chunks/chunk-store.js'
import type { IdentityState } from './identity-state.js'

export interface UserServiceDeps {
  db: Db
  users: UsersRepository
  sessions: SessionsRepository
  audit: AuditRepository
  chunkStore: ChunkStore
  identity: Pick<IdentityState, 'userChanged'>
  log: { warn(obj: object, msg: string): void }
}

export interface PurgeResult {
  user_id: string
  sessions: number
  chunks: number
}

export function createUserService(deps: UserServiceDeps) {
  return {
    /**
     * Rows first (one statement cascading to sessions, chunks, manifests, login sessions, keys,
     * policies) together with the audit entry; then the files, which the volume cleanup would
     * also find as orphans. `audit` is the entry without the counts, which are added here.
     */
    async purge(userId: string, audit: Omit<AuditEntry, 'details'>): Promise<PurgeResult> {
      const { sessionIds, chunks } = await deps.sessions.holdingsOfUser(userId)
      await deps.db.transaction(async (tx) => {
        await deps.users.deleteById(userId, tx)
        await deps.audit.append({ ...audit, details: { sessions: sessionIds.length, chunks } }, tx)
      })
      for (const id of sessionIds) {
        await deps.chunkStore
          .removeSession(id)
          .catch((err: Error) => deps.log.warn({ err, session_id: id }, 'chunk files left for the volume cleanup'))
      }
      await deps.identity.userChanged(userId)
      return { user_id: userId, sessions: sessionIds.length, chunks }
    }
  }
}

export type UserService = ReturnType<typeof createUserService>
