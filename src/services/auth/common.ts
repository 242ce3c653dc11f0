/**
 * What the login flows share (CONTRACT.md section 4): lifetimes, the email login limits, the
 * dependencies of the auth service and the stored records' shapes.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from '../../config.js'
import type { Db } from '../../data/db.js'
import type { StateStore } from '../../stores/state-store.js'
import type { TokenPair, TokenService } from '../../crypto/tokens.js'
import type { SecretBox } from '../../crypto/secret-box.js'
import type { UserRow, UsersRepository } from '../../data/repositories/users.js'
import type { AuthSessionsRepository } from '../../data/repositories/auth-sessions.js'
import type { AuditEntry } from '../../data/repositories/audit.js'
import type { IdentityState } from '../identity-state.js'
import type { Mailer } from '../mailer.js'

export const CHALLENGE_TTL_MS = 5 * 60_000
export const EMAIL_CODE_TTL_MS = 5 * 60_000
export const TOTP_MAX_FAILURES = 5
export const TOTP_LOCK_MINUTES = 30
/**
 * Email login limits (issue 12 finding 4), keyed so that a stranger who knows an address cannot
 * lock its owner out: what one client (IP, IPv6 by /64) does against an address only blocks that
 * client; the per-address caps are high enough that one client alone never reaches them, and a new
 * code resets none of them. README "Email login limits" and SECURITY.md give the same numbers.
 */
export const EMAIL_LIMITS = {
  /** Codes one client may request for one address per 15 minutes. */
  sendsPerClient: 3,
  sendClientWindowMs: 15 * 60_000,
  /** Codes an address may receive from all clients per hour (mail-bombing bound). */
  sendsPerAddress: 30,
  sendAddressWindowMs: 60 * 60_000,
  /** Wrong codes one client may try against one address per 15 minutes; then 429. */
  guessesPerClient: 5,
  guessClientWindowMs: 15 * 60_000,
  /** Wrong codes an address may receive from all clients per hour, whatever new codes were sent. */
  guessesPerAddress: 20,
  guessAddressWindowMs: 60 * 60_000
} as const

export interface ClientInfo {
  ip: string
  userAgent: string | null
  requestId: string
}

export interface AuthServiceDeps {
  config: Readonly<Config>
  db: Db
  store: StateStore
  tokens: TokenService
  users: UsersRepository
  sessions: AuthSessionsRepository
  identity: IdentityState
  mailer: Mailer
  totpBox: SecretBox
  audit: (entry: AuditEntry & { actor_id?: string | null }, client: ClientInfo) => Promise<void>
  now: () => number
}

/** What the wallet and email flows borrow from the auth service: the account checks and the session issue. */
export interface LoginSteps {
  assertMayLogin(user: UserRow): void
  checkSecondFactor(user: UserRow, code: string | undefined, client: ClientInfo): Promise<void>
  issueSession(user: UserRow, method: 'wallet' | 'email', client: ClientInfo): Promise<TokenPair & { user: UserRow }>
}

/** The audit entry of an account its first login created (wallet or email). */
export const auditUserCreated = (
  d: AuthServiceDeps,
  user: UserRow,
  details: Record<string, unknown>,
  client: ClientInfo
): Promise<void> =>
  d.audit(
    { actor_id: user.user_id, action: 'user.created', target_type: 'user', target_id: user.user_id, details },
    client
  )

export type EmailSent = { message: string; expires_in: number }
/** The answer to every code request, sent or not (it never says whether the address exists). */
export const EMAIL_SENT: EmailSent = {
  message: 'If the address can receive mail, a sign-in link and code are on their way',
  expires_in: EMAIL_CODE_TTL_MS / 1000
}
export const LINK_NOTICE = [
  'Someone asked to add this address to a Lucid account, but it already belongs to an account.',
  'Nothing was changed.',
  'If it was you, sign in with this address instead. If not, ignore this message.'
]

export interface EmailCodeRecord {
  /** HMAC-SHA256 of address and code under a key derived from DATA_ENCRYPTION_KEY: useless offline. */
  code_mac: string
  token_hash: string
  purpose: 'login' | 'link'
  user_id?: string
  expires_at: string
}

export const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}
