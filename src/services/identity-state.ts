/**
 * What a request needs to know beyond a valid signature: is the login session revoked, and what
 * is the user's role and status right now. Answers come from a local cache that is
 *  - invalidated at once on this instance and, through state-store pub/sub, on every other one;
 *  - refreshed from the database (authoritative) every `pollMs`, so revocations reach every
 *    instance within about a second even while Redis is down, and survive restarts.
 */
import type { AuthSessionsRepository } from '../data/repositories/auth-sessions.js'
import type { UserRow, UsersRepository } from '../data/repositories/users.js'
import type { StateStore, Unsubscribe } from '../stores/state-store.js'

export interface IdentityState {
  /**
   * True when the login session is revoked or unknown, or — with `sub` — belongs to another user
   * (a token whose `sid` names someone else's session is refused; issue 12 finding 10).
   */
  sessionRevoked(sid: string, sub?: string): Promise<boolean>
  user(id: string): Promise<UserRow | null>
  /** Call after changing a session in the database. */
  sessionChanged(sid: string): Promise<void>
  /** Call after changing a user (role, status, lock) in the database. */
  userChanged(id: string): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

const CHANNEL = 'identity-invalidate'
const MAX_ENTRIES = 100_000
const ENTRY_TTL_MS = 60_000

export interface IdentityStateOptions {
  users: UsersRepository
  sessions: AuthSessionsRepository
  stateStore: StateStore
  pollMs: number
  onError: (err: unknown) => void
}

export function createIdentityState(opts: IdentityStateOptions): IdentityState {
  const sessions = new Map<string, { revoked: boolean; userId: string | null; at: number }>()
  const users = new Map<string, { row: UserRow | null; at: number }>()
  let since: Date | undefined
  let timer: NodeJS.Timeout | undefined
  let unsubscribe: Unsubscribe | undefined
  let polling = false

  const bounded = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string)
    map.set(key, value)
  }

  async function poll(): Promise<void> {
    if (polling) return
    polling = true
    try {
      if (since === undefined) {
        since = (await opts.sessions.revokedSince(new Date())).now
        return
      }
      const [revoked, changed] = await Promise.all([opts.sessions.revokedSince(since), opts.users.changedSince(since)])
      for (const id of revoked.ids) sessions.delete(id)
      for (const id of changed.ids) users.delete(id)
      // Overlap by a second: a row committed just before `now` with an older timestamp is not missed.
      since = new Date(revoked.now.getTime() - 1_000)
    } catch (err) {
      opts.onError(err)
      // Database unreachable: forget what we cached so nothing stale is trusted for long.
      sessions.clear()
      users.clear()
    } finally {
      polling = false
    }
  }

  function onMessage(message: string): void {
    const [kind, id] = message.split(':', 2)
    if (kind === 's') sessions.delete(id)
    if (kind === 'u') users.delete(id)
  }

  async function publish(message: string): Promise<void> {
    onMessage(message)
    await opts.stateStore.publish(CHANNEL, message).catch(opts.onError)
  }

  return {
    async sessionRevoked(sid, sub) {
      let hit = sessions.get(sid)
      if (hit === undefined || Date.now() - hit.at >= ENTRY_TTL_MS) {
        const row = await opts.sessions.findById(sid)
        hit = { revoked: row === null || row.revoked_at !== null, userId: row?.user_id ?? null, at: Date.now() }
        bounded(sessions, sid, hit)
      }
      return hit.revoked || (sub !== undefined && hit.userId !== sub)
    },
    async user(id) {
      const hit = users.get(id)
      if (hit !== undefined && Date.now() - hit.at < ENTRY_TTL_MS) return hit.row
      const row = await opts.users.findById(id)
      bounded(users, id, { row, at: Date.now() })
      return row
    },
    sessionChanged: (sid) => publish(`s:${sid}`),
    userChanged: (id) => publish(`u:${id}`),
    async start() {
      try {
        unsubscribe = await opts.stateStore.subscribe(CHANNEL, onMessage)
      } catch (err) {
        opts.onError(err)
      }
      await poll()
      timer = setInterval(() => void poll(), opts.pollMs)
      timer.unref()
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer)
      await unsubscribe?.().catch(() => undefined)
    }
  }
}
