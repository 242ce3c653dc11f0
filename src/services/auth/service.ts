/**
 * Login flows (CONTRACT.md section 4): wallet challenge/signature, emailed magic link and code,
 * the TOTP second factor, refresh rotation with reuse detection, and logout. Handlers stay thin;
 * the wallet flows are in wallet-login.ts, the email flows in email-login.ts.
 *
 * Order of checks in both logins: first factor → account state → TOTP → consume the single-use
 * nonce/code. A missing or wrong TOTP code therefore leaves the first factor usable until it
 * expires, and a raced replay of the same nonce/code finds it already taken.
 */
import { randomUUID } from 'node:crypto'
import { LucidError } from '../../errors.js'
import type { TokenPair } from '../../crypto/tokens.js'
import { checkTotp } from '../../crypto/totp.js'
import { createSecretBox } from '../../crypto/secret-box.js'
import type { UserRow } from '../../data/repositories/users.js'
import { userBlockReason } from '../../auth/roles.js'
import { TOTP_LOCK_MINUTES, TOTP_MAX_FAILURES, type AuthServiceDeps, type ClientInfo } from './common.js'
import { createEmailLogin } from './email-login.js'
import { createWalletLogin } from './wallet-login.js'

export { CHALLENGE_TTL_MS, EMAIL_CODE_TTL_MS, EMAIL_LIMITS, type AuthServiceDeps, type ClientInfo } from './common.js'

export function createAuthService(d: AuthServiceDeps) {
  // A refresh-grace record must not hold a usable token pair in clear (issue 12 finding 1).
  const graceBox = createSecretBox(d.config.dataEncryptionKey as Buffer, 'refresh-grace')

  async function issueSession(
    user: UserRow,
    method: 'wallet' | 'email',
    client: ClientInfo
  ): Promise<TokenPair & { user: UserRow }> {
    const sid = randomUUID()
    const refreshJti = randomUUID()
    await d.sessions.create({
      session_id: sid,
      user_id: user.user_id,
      method,
      refresh_jti: refreshJti,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 500) ?? null,
      expires_at: new Date(d.now() + d.tokens.refreshTtlS * 1000)
    })
    await d.users.recordLogin(user.user_id)
    const pair = await d.tokens.issuePair({ userId: user.user_id, role: user.role, sid, refreshJti })
    await d.audit(
      {
        actor_id: user.user_id,
        actor_role: user.role,
        action: 'auth.login',
        target_type: 'auth_session',
        target_id: sid,
        details: { method }
      },
      client
    )
    return { ...pair, user: (await d.users.findById(user.user_id)) as UserRow }
  }

  /** Second factor, when enabled: wrong or missing → 2007; the fifth wrong code in a row locks. */
  async function checkSecondFactor(user: UserRow, code: string | undefined, client: ClientInfo): Promise<void> {
    if (!user.totp_enabled || user.totp_secret_enc === null) return
    if (code === undefined)
      throw new LucidError('TOTP_INVALID', 'TOTP code required', { details: { totp_required: true } })
    const secret = d.totpBox.open(user.totp_secret_enc, user.user_id).toString()
    const step = checkTotp(secret, code, d.now())
    if (step !== null && (await d.users.consumeTotpStep(user.user_id, step))) return
    const { locked } = await d.users.recordTotpFailure(user.user_id, TOTP_MAX_FAILURES, TOTP_LOCK_MINUTES)
    await d.audit(
      {
        actor_id: user.user_id,
        action: 'auth.totp_failure',
        outcome: 'failure',
        target_type: 'user',
        target_id: user.user_id,
        details: { locked }
      },
      client
    )
    if (locked) {
      await d.identity.userChanged(user.user_id)
      throw new LucidError(
        'ACCOUNT_LOCKED',
        `Too many wrong TOTP codes; account locked for ${TOTP_LOCK_MINUTES} minutes`
      )
    }
    throw new LucidError('TOTP_INVALID', step === null ? 'TOTP code is invalid' : 'TOTP code was already used', {
      details: { totp_required: true }
    })
  }

  function assertMayLogin(user: UserRow): void {
    // Soft-deleted and suspended accounts cannot log in until an admin restores them.
    if (user.status !== 'active') throw new LucidError('AUTH_REQUIRED', 'Account is not active')
    const blocked = userBlockReason(user, d.now())
    if (blocked !== null) throw blocked
  }

  const email = createEmailLogin(d, { assertMayLogin, checkSecondFactor, issueSession })
  const wallet = createWalletLogin(d, { assertMayLogin, checkSecondFactor, issueSession })

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
    if (session === null || session.revoked_at !== null || session.user_id !== claims.sub)
      throw new LucidError('REFRESH_INVALID', 'Login session is no longer valid')
    if (session.refresh_jti !== claims.jti) {
      const graced = d.config.refreshReuseGraceS > 0 ? await d.store.get(`refresh-grace:${claims.jti}`) : null
      if (graced !== null) return fromGrace(graced, claims.jti)
      // A rotated refresh token came back: it was stolen or leaked. End the whole login session.
      await d.sessions.revoke(session.session_id, 'refresh_token_reuse')
      await d.identity.sessionChanged(session.session_id)
      await d.audit(
        {
          actor_id: session.user_id,
          action: 'auth.refresh_reuse',
          outcome: 'failure',
          target_type: 'auth_session',
          target_id: session.session_id
        },
        client
      )
      throw new LucidError('REFRESH_INVALID', 'Refresh token was already used; the login session has been revoked')
    }
    const user = await d.users.findById(session.user_id)
    if (user === null) throw new LucidError('REFRESH_INVALID')
    assertMayLogin(user)
    const nextJti = randomUUID()
    if (
      !(await d.sessions.rotate(
        session.session_id,
        claims.jti,
        nextJti,
        new Date(d.now() + d.tokens.refreshTtlS * 1000)
      ))
    ) {
      // Lost a race with a concurrent refresh of the same token: treat as reuse.
      const graced = d.config.refreshReuseGraceS > 0 ? await d.store.get(`refresh-grace:${claims.jti}`) : null
      if (graced !== null) return fromGrace(graced, claims.jti)
      throw new LucidError('REFRESH_INVALID', 'Refresh token was already used')
    }
    const pair = await d.tokens.issuePair({
      userId: user.user_id,
      role: user.role,
      sid: session.session_id,
      refreshJti: nextJti
    })
    const result = { ...pair, user }
    if (d.config.refreshReuseGraceS > 0) {
      // Sealed with DATA_ENCRYPTION_KEY and bound to the jti: a copy of the store gives no tokens.
      const sealed = graceBox.seal(JSON.stringify({ ...pair, user_id: user.user_id }), claims.jti)
      await d.store.set(`refresh-grace:${claims.jti}`, sealed, { ttlMs: d.config.refreshReuseGraceS * 1000 })
    }
    return result
  }

  async function logout(
    user: { id: string; sid?: string; role: string },
    all: boolean,
    client: ClientInfo
  ): Promise<number> {
    const ids =
      all || user.sid === undefined
        ? await d.sessions.revokeAllForUser(user.id, 'logout_all')
        : (await d.sessions.revoke(user.sid, 'logout'))
          ? [user.sid]
          : []
    for (const id of ids) await d.identity.sessionChanged(id)
    await d.audit(
      {
        actor_id: user.id,
        actor_role: user.role,
        action: all ? 'auth.logout_all' : 'auth.logout',
        target_type: 'auth_session',
        target_id: all ? null : (user.sid ?? null),
        details: { revoked: ids.length }
      },
      client
    )
    return ids.length
  }

  return {
    ...wallet,
    ...email,
    refresh,
    logout,
    checkSecondFactor
  }
}
export type AuthService = ReturnType<typeof createAuthService>
