/**
 * Login flows (CONTRACT.md section 4): wallet challenge/signature, emailed magic link and code,
 * the TOTP second factor, refresh rotation with reuse detection, and logout. Handlers stay thin.
 *
 * Order of checks in both logins: first factor → account state → TOTP → consume the single-use
 * nonce/code. A missing or wrong TOTP code therefore leaves the first factor usable until it
 * expires, and a raced replay of the same nonce/code finds it already taken.
 */
import { createHash, createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import { LucidError } from '../../errors.js'
import type { Config } from '../../config.js'
import type { Db } from '../../data/db.js'
import type { StateStore } from '../../stores/state-store.js'
import type { TokenPair, TokenService, Role } from '../../crypto/tokens.js'
import { recoverSigner, SignatureFormatError } from '../../crypto/tron.js'
import { checkTotp } from '../../crypto/totp.js'
import { createSecretBox, deriveKey, type SecretBox } from '../../crypto/secret-box.js'
import type { UserRow, UsersRepository, WalletType } from '../../data/repositories/users.js'
import type { AuthSessionsRepository } from '../../data/repositories/auth-sessions.js'
import type { AuditEntry } from '../../data/repositories/audit.js'
import type { IdentityState } from '../../services/identity-state.js'
import type { Mailer } from '../../services/mailer.js'
import { userBlockReason } from '../../auth/roles.js'
import { clientKey } from '../../admission/client-key.js'

export const CHALLENGE_TTL_MS = 5 * 60_000
export const EMAIL_CODE_TTL_MS = 5 * 60_000
const TOTP_MAX_FAILURES = 5
const TOTP_LOCK_MINUTES = 30
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

interface ChallengeRecord {
  address: string
  message: string
  expires_at: string
  purpose: 'login' | 'link'
}

type EmailSent = { message: string; expires_in: number }
/** The answer to every code request, sent or not (it never says whether the address exists). */
const EMAIL_SENT: EmailSent = {
  message: 'If the address can receive mail, a sign-in link and code are on their way',
  expires_in: EMAIL_CODE_TTL_MS / 1000
}
const LINK_NOTICE = [
  'Someone asked to add this address to a Lucid account, but it already belongs to an account.',
  'Nothing was changed.',
  'If it was you, sign in with this address instead. If not, ignore this message.'
]

interface EmailCodeRecord {
  /** HMAC-SHA256 of address and code under a key derived from DATA_ENCRYPTION_KEY: useless offline. */
  code_mac: string
  token_hash: string
  purpose: 'login' | 'link'
  user_id?: string
  expires_at: string
}

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}

export function createAuthService(d: AuthServiceDeps) {
  const bootstrap = new Set(d.config.bootstrapSuperAdmins)
  // Issue 12 finding 1: the stored form of a 6-digit code must not be crackable offline (an
  // unsalted SHA-256 was, in under a second), and a refresh-grace record must not hold a usable
  // token pair in clear. Both keys come from DATA_ENCRYPTION_KEY through HKDF with their own label.
  const codeKey = deriveKey(d.config.dataEncryptionKey as Buffer, 'email-code-mac')
  const codeMac = (email: string, code: string) =>
    createHmac('sha256', codeKey).update(`${email}\n${code}`).digest('hex')
  const graceBox = createSecretBox(d.config.dataEncryptionKey as Buffer, 'refresh-grace')
  const retryAfter = (ttlMs: number | null) => ({
    'retry-after': String(Math.max(1, Math.ceil((ttlMs ?? 60_000) / 1000)))
  })
  const tooMany = (what: string, ttlMs: number | null) =>
    new LucidError('RATE_LIMITED', `Too many ${what} from this client for this address; try later`, {
      headers: retryAfter(ttlMs)
    })

  async function issueSession(user: UserRow, method: 'wallet' | 'email', client: ClientInfo): Promise<TokenPair & { user: UserRow }> {
    const sid = randomUUID()
    const refreshJti = randomUUID()
    await d.sessions.create({ session_id: sid, user_id: user.user_id, method, refresh_jti: refreshJti, ip: client.ip, user_agent: client.userAgent?.slice(0, 500) ?? null, expires_at: new Date(d.now() + d.tokens.refreshTtlS * 1000) })
    await d.users.recordLogin(user.user_id)
    const pair = await d.tokens.issuePair({ userId: user.user_id, role: user.role, sid, refreshJti })
    await d.audit({ actor_id: user.user_id, actor_role: user.role, action: 'auth.login', target_type: 'auth_session', target_id: sid, details: { method } }, client)
    return { ...pair, user: (await d.users.findById(user.user_id)) as UserRow }
  }

  /** Second factor, when enabled: wrong or missing → 2007; the fifth wrong code in a row locks. */
  async function checkSecondFactor(user: UserRow, code: string | undefined, client: ClientInfo): Promise<void> {
    if (!user.totp_enabled || user.totp_secret_enc === null) return
    if (code === undefined) throw new LucidError('TOTP_INVALID', 'TOTP code required', { details: { totp_required: true } })
    const secret = d.totpBox.open(user.totp_secret_enc, user.user_id).toString()
    const step = checkTotp(secret, code, d.now())
    if (step !== null && (await d.users.consumeTotpStep(user.user_id, step))) return
    const { locked } = await d.users.recordTotpFailure(user.user_id, TOTP_MAX_FAILURES, TOTP_LOCK_MINUTES)
    await d.audit({ actor_id: user.user_id, action: 'auth.totp_failure', outcome: 'failure', target_type: 'user', target_id: user.user_id, details: { locked } }, client)
    if (locked) {
      await d.identity.userChanged(user.user_id)
      throw new LucidError('ACCOUNT_LOCKED', `Too many wrong TOTP codes; account locked for ${TOTP_LOCK_MINUTES} minutes`)
    }
    throw new LucidError('TOTP_INVALID', step === null ? 'TOTP code is invalid' : 'TOTP code was already used', { details: { totp_required: true } })
  }

  function assertMayLogin(user: UserRow): void {
    // Soft-deleted and suspended accounts cannot log in until an admin restores them.
    if (user.status !== 'active') throw new LucidError('AUTH_REQUIRED', 'Account is not active')
    const blocked = userBlockReason(user, d.now())
    if (blocked !== null) throw blocked
  }

  async function challenge(address: string, purpose: 'login' | 'link' = 'login') {
    const nonce = randomBytes(16).toString('hex')
    const issued = new Date(d.now())
    const expires = new Date(d.now() + CHALLENGE_TTL_MS)
    const message = [
      'Lucid API Gateway wants you to sign in with your TRON account:',
      address,
      '',
      purpose === 'link' ? 'Purpose: link this address to your Lucid account' : 'Purpose: sign in to Lucid',
      `Nonce: ${nonce}`,
      `Issued At: ${issued.toISOString()}`,
      `Expiration Time: ${expires.toISOString()}`
    ].join('\n')
    const record: ChallengeRecord = { address, message, expires_at: expires.toISOString(), purpose }
    await d.store.set(`challenge:${nonce}`, JSON.stringify(record), { ttlMs: CHALLENGE_TTL_MS })
    return { nonce, message, expires_at: record.expires_at }
  }

  /** Checks a signed challenge without consuming it; returns the proven address. */
  async function proveAddress(input: { tron_address: string; signature: string; nonce: string }, purpose: 'login' | 'link', client: ClientInfo): Promise<() => Promise<void>> {
    const raw = /^[0-9a-f]{32}$/.test(input.nonce) ? await d.store.get(`challenge:${input.nonce}`) : null
    const record = raw === null ? null : (JSON.parse(raw) as ChallengeRecord)
    if (record === null || Date.parse(record.expires_at) <= d.now()) throw new LucidError('NONCE_INVALID')
    if (record.address !== input.tron_address || record.purpose !== purpose) throw new LucidError('NONCE_INVALID', 'Challenge nonce was issued for another address or purpose')
    let signer: string | null
    try {
      signer = recoverSigner(record.message, input.signature, input.tron_address)
    } catch (err) {
      if (err instanceof SignatureFormatError) throw new LucidError('SIGNATURE_INVALID', `Malformed signature: ${err.message}`)
      throw err
    }
    if (signer !== input.tron_address) {
      // Logged and limited per IP by the caller; never counted against the (public) address.
      await d.audit({ action: 'auth.signature_failure', outcome: 'failure', target_type: 'tron_address', target_id: input.tron_address }, client)
      throw new LucidError('SIGNATURE_INVALID')
    }
    return async () => {
      if ((await d.store.take(`challenge:${input.nonce}`)) === null) throw new LucidError('NONCE_INVALID', 'Challenge nonce was already used')
    }
  }

  async function walletLogin(input: { tron_address: string; signature: string; nonce: string; wallet_type?: WalletType; totp_code?: string }, client: ClientInfo) {
    const consume = await proveAddress(input, 'login', client)
    const role: Role = bootstrap.has(input.tron_address) ? 'super_admin' : 'user'
    const res = await d.users.createOrGet({ tron_address: input.tron_address, wallet_type: input.wallet_type ?? 'software', role })
    const created = res.created
    let user = res.user
    assertMayLogin(user)
    await checkSecondFactor(user, input.totp_code, client)
    await consume()
    if (!created && input.wallet_type !== undefined && input.wallet_type !== user.wallet_type) {
      user = (await d.users.update(user.user_id, { wallet_type: input.wallet_type })) as UserRow
    }
    if (created) await d.audit({ actor_id: user.user_id, action: 'user.created', target_type: 'user', target_id: user.user_id, details: { via: 'wallet', role } }, client)
    return issueSession(user, 'wallet', client)
  }

  async function sendEmailCode(email: string, purpose: 'login' | 'link', client: ClientInfo, userId?: string): Promise<{ message: string; expires_in: number }> {
    const normalized = email.trim().toLowerCase()
    await countSend(normalized, client)
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    const token = randomBytes(32).toString('base64url')
    const record: EmailCodeRecord = {
      code_mac: codeMac(normalized, code),
      token_hash: sha256hex(token),
      purpose,
      user_id: userId,
      expires_at: new Date(d.now() + EMAIL_CODE_TTL_MS).toISOString()
    }
    // A new code replaces the previous one (and its link); the guess budgets are not reset.
    await d.store.set(`email-code:${normalized}`, JSON.stringify(record), { ttlMs: EMAIL_CODE_TTL_MS })
    await d.store.set(`magic:${record.token_hash}`, normalized, { ttlMs: EMAIL_CODE_TTL_MS })
    const base = d.config.magicLinkUrl ?? `${d.config.publicUrl ?? `http://localhost:${d.config.httpPort}`}/api/v1/auth/magic?token={token}`
    const link = base.replace('{token}', encodeURIComponent(token))
    const what = purpose === 'link' ? 'confirm this email address for your Lucid account' : 'sign in to Lucid'
    await d.mailer.send({
      to: normalized,
      subject: purpose === 'link' ? 'Confirm your email for Lucid' : 'Your Lucid sign-in link',
      text: `Use this link to ${what}:\n\n${link}\n\nOr enter this code: ${code}\n\nThe link and code expire in 5 minutes and work once. If you did not ask for this, ignore this message.`,
      html: `<p>Use this link to ${what}:</p><p><a href="${link}">${link}</a></p><p>Or enter this code: <strong>${code}</strong></p><p>The link and code expire in 5 minutes and work once.</p>`
    })
    await d.audit({ actor_id: userId ?? null, action: purpose === 'link' ? 'auth.email_link_sent' : 'auth.magic_link_sent', target_type: 'email', target_id: sha256hex(normalized).slice(0, 16) }, client)
    return EMAIL_SENT
  }

  /** Send limits: per client and address first (a stranger exhausts only their own), then per address. */
  async function countSend(email: string, client: ClientInfo): Promise<void> {
    const mine = `mail-rate:${clientKey(client.ip, d.config.rateLimit.ipv6PrefixBits)}:${sha256hex(email)}`
    if ((await d.store.incr(mine, 1, EMAIL_LIMITS.sendClientWindowMs)) > EMAIL_LIMITS.sendsPerClient) {
      throw tooMany('codes requested', await d.store.ttl(mine))
    }
    const all = `mail-rate:${sha256hex(email)}`
    if ((await d.store.incr(all, 1, EMAIL_LIMITS.sendAddressWindowMs)) > EMAIL_LIMITS.sendsPerAddress) {
      const headers = retryAfter(await d.store.ttl(all))
      throw new LucidError('RATE_LIMITED', 'Too many codes requested for this address; try later', { headers })
    }
  }

  /**
   * Notice instead of a code (issue 12 finding 9): linking an address that another account already
   * uses answers exactly like a successful request, and the address's owner learns of the attempt.
   */
  async function sendLinkNotice(email: string, client: ClientInfo, userId: string): Promise<EmailSent> {
    const normalized = email.trim().toLowerCase()
    await countSend(normalized, client)
    await d.mailer.send({
      to: normalized,
      subject: 'Confirm your email for Lucid',
      text: LINK_NOTICE.join(' '),
      html: `<p>${LINK_NOTICE.slice(0, 2).join(' ')}</p><p>${LINK_NOTICE[2]}</p>`
    })
    const target = { target_type: 'email', target_id: sha256hex(normalized).slice(0, 16) }
    await d.audit({ actor_id: userId, action: 'auth.email_link_refused', outcome: 'failure', ...target }, client)
    return EMAIL_SENT
  }

  /** Whether a magic-link token would still sign in, without using it (the landing page asks). */
  async function magicLinkUsable(token: string): Promise<boolean> {
    const email = await d.store.get(`magic:${sha256hex(token)}`)
    const raw = email === null ? null : await d.store.get(`email-code:${email}`)
    if (raw === null) return false
    const record = JSON.parse(raw) as EmailCodeRecord
    return sameHash(record.token_hash, sha256hex(token)) && Date.parse(record.expires_at) > d.now()
  }

  async function verifyEmail(input: { email?: string; code?: string; token?: string; totp_code?: string }, client: ClientInfo) {
    let email: string | null
    if (input.token !== undefined) {
      email = await d.store.get(`magic:${sha256hex(input.token)}`)
    } else {
      email = (input.email as string).trim().toLowerCase()
    }
    // Guess budgets are checked before the code is compared, and counted whether or not a code is
    // pending, so neither the answer nor the limit tells a prober that an address has a code.
    const byCode = input.token === undefined
    const guesses = byCode ? await guessBudget(email as string, client) : null
    const raw = email === null ? null : await d.store.get(`email-code:${email}`)
    const record = raw === null ? null : (JSON.parse(raw) as EmailCodeRecord)
    const ok =
      record !== null &&
      (byCode
        ? record.code_mac !== undefined && sameHash(record.code_mac, codeMac(email as string, input.code as string))
        : sameHash(record.token_hash, sha256hex(input.token as string)))
    if (!ok || email === null || record === null) {
      if (guesses !== null) await guesses.wrong()
      // One wording for every case (no code, wrong code, budget spent): issue 12 finding 9.
      throw new LucidError('CODE_EXPIRED')
    }
    let user: UserRow | null
    let created = false
    if (record.purpose === 'link') {
      user = await d.users.findById(record.user_id as string)
      if (user === null) throw new LucidError('CODE_EXPIRED')
      const other = await d.users.findByEmail(email)
      if (other !== null && other.user_id !== user.user_id) throw new LucidError('ALREADY_EXISTS', 'Email is already used by another account')
    } else {
      ;({ user, created } = await d.users.createOrGet({ email, role: 'user' }))
    }
    assertMayLogin(user)
    await checkSecondFactor(user, input.totp_code, client)
    if ((await d.store.take(`email-code:${email}`)) === null) throw new LucidError('CODE_EXPIRED')
    await d.store.del(`magic:${record.token_hash}`)
    if (record.purpose === 'link') user = await linkEmail(user.user_id, email, client)
    if (created) await d.audit({ actor_id: user.user_id, action: 'user.created', target_type: 'user', target_id: user.user_id, details: { via: 'email' } }, client)
    return issueSession(user, 'email', client)
  }

  /**
   * Wrong-code budgets of one address: per client (its own 429 after guessesPerClient) and in
   * total (guessesPerAddress per hour, not reset by a new code; spent, codes are refused for the
   * rest of the hour while the unguessable magic link of the same mail keeps working for the owner).
   */
  async function guessBudget(email: string, client: ClientInfo): Promise<{ wrong(): Promise<void> }> {
    const mine = `email-attempts:${clientKey(client.ip, d.config.rateLimit.ipv6PrefixBits)}:${sha256hex(email)}`
    const all = `email-attempts:${sha256hex(email)}`
    const [tried, total] = await Promise.all([d.store.get(mine), d.store.get(all)])
    if (Number(tried ?? 0) >= EMAIL_LIMITS.guessesPerClient) throw tooMany('wrong codes', await d.store.ttl(mine))
    if (Number(total ?? 0) >= EMAIL_LIMITS.guessesPerAddress) throw new LucidError('CODE_EXPIRED')
    return {
      async wrong() {
        const [n, t] = await Promise.all([
          d.store.incr(mine, 1, EMAIL_LIMITS.guessClientWindowMs),
          d.store.incr(all, 1, EMAIL_LIMITS.guessAddressWindowMs)
        ])
        const target = { target_type: 'email', target_id: sha256hex(email).slice(0, 16) }
        const details = { attempts_client: n, attempts_address: t }
        await d.audit({ action: 'auth.code_failure', outcome: 'failure', ...target, details }, client)
      }
    }
  }

  async function linkEmail(userId: string, email: string, client: ClientInfo): Promise<UserRow> {
    const other = await d.users.findByEmail(email)
    if (other !== null && other.user_id !== userId) throw new LucidError('ALREADY_EXISTS', 'Email is already used by another account')
    const user = await d.users.update(userId, { email })
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await d.identity.userChanged(userId)
    await d.audit({ actor_id: userId, action: 'user.email_linked', target_type: 'user', target_id: userId }, client)
    return user
  }

  async function linkWallet(userId: string, input: { tron_address: string; signature: string; nonce: string; wallet_type?: WalletType }, client: ClientInfo): Promise<UserRow> {
    const consume = await proveAddress(input, 'link', client)
    const other = await d.users.findByAddress(input.tron_address)
    if (other !== null && other.user_id !== userId) throw new LucidError('ALREADY_EXISTS', 'Address is already used by another account')
    await consume()
    const user = await d.users.update(userId, { tron_address: input.tron_address, wallet_type: input.wallet_type ?? 'software' })
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await d.identity.userChanged(userId)
    await d.audit({ actor_id: userId, action: 'user.wallet_linked', target_type: 'user', target_id: userId, details: { tron_address: input.tron_address } }, client)
    return user
  }

  /** The pair handed out for a refresh token within REFRESH_REUSE_GRACE_S, with the user reloaded. */
  async function fromGrace(raw: string, jti: string): Promise<TokenPair & { user: UserRow }> {
    let opened: TokenPair & { user_id: string }
    try {
      opened = JSON.parse(graceBox.open(raw, jti).toString()) as TokenPair & { user_id: string }
    } catch {
      throw new LucidError('REFRESH_INVALID')
    }
    const { user_id, ...pair } = opened
    const user = await d.users.findById(user_id)
    if (user === null) throw new LucidError('REFRESH_INVALID')
    assertMayLogin(user)
    return { ...pair, user }
  }

  async function refresh(refreshToken: string, client: ClientInfo) {
    const claims = await d.tokens.verify(refreshToken, 'refresh')
    const session = await d.sessions.findById(claims.sid)
    if (session === null || session.revoked_at !== null || session.user_id !== claims.sub) throw new LucidError('REFRESH_INVALID', 'Login session is no longer valid')
    if (session.refresh_jti !== claims.jti) {
      const graced = d.config.refreshReuseGraceS > 0 ? await d.store.get(`refresh-grace:${claims.jti}`) : null
      if (graced !== null) return fromGrace(graced, claims.jti)
      // A rotated refresh token came back: it was stolen or leaked. End the whole login session.
      await d.sessions.revoke(session.session_id, 'refresh_token_reuse')
      await d.identity.sessionChanged(session.session_id)
      await d.audit({ actor_id: session.user_id, action: 'auth.refresh_reuse', outcome: 'failure', target_type: 'auth_session', target_id: session.session_id }, client)
      throw new LucidError('REFRESH_INVALID', 'Refresh token was already used; the login session has been revoked')
    }
    const user = await d.users.findById(session.user_id)
    if (user === null) throw new LucidError('REFRESH_INVALID')
    assertMayLogin(user)
    const nextJti = randomUUID()
    if (!(await d.sessions.rotate(session.session_id, claims.jti, nextJti, new Date(d.now() + d.tokens.refreshTtlS * 1000)))) {
      // Lost a race with a concurrent refresh of the same token: treat as reuse.
      const graced = d.config.refreshReuseGraceS > 0 ? await d.store.get(`refresh-grace:${claims.jti}`) : null
      if (graced !== null) return fromGrace(graced, claims.jti)
      throw new LucidError('REFRESH_INVALID', 'Refresh token was already used')
    }
    const pair = await d.tokens.issuePair({ userId: user.user_id, role: user.role, sid: session.session_id, refreshJti: nextJti })
    const result = { ...pair, user }
    if (d.config.refreshReuseGraceS > 0) {
      // Sealed with DATA_ENCRYPTION_KEY and bound to the jti: a copy of the store gives no tokens.
      const sealed = graceBox.seal(JSON.stringify({ ...pair, user_id: user.user_id }), claims.jti)
      await d.store.set(`refresh-grace:${claims.jti}`, sealed, { ttlMs: d.config.refreshReuseGraceS * 1000 })
    }
    return result
  }

  async function logout(user: { id: string; sid?: string; role: string }, all: boolean, client: ClientInfo): Promise<number> {
    const ids = all || user.sid === undefined ? await d.sessions.revokeAllForUser(user.id, 'logout_all') : (await d.sessions.revoke(user.sid, 'logout')) ? [user.sid] : []
    for (const id of ids) await d.identity.sessionChanged(id)
    await d.audit({ actor_id: user.id, actor_role: user.role, action: all ? 'auth.logout_all' : 'auth.logout', target_type: 'auth_session', target_id: all ? null : (user.sid ?? null), details: { revoked: ids.length } }, client)
    return ids.length
  }

  return {
    challenge, walletLogin, sendEmailCode, sendLinkNotice, magicLinkUsable, verifyEmail,
    refresh, logout, linkWallet, checkSecondFactor
  }
}
export type AuthService = ReturnType<typeof createAuthService>
