/**
 * Email login and address linking (issue 12 findings 1, 4 and 9): a six-digit code and a magic link
 * in one mail, stored as an HMAC and a hash, with send and guess budgets per client and address.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto'
import { LucidError } from '../../errors.js'
import { deriveKey } from '../../crypto/secret-box.js'
import type { UserRow } from '../../data/repositories/users.js'
import { clientKey } from '../../admission/client-key.js'
import {
  EMAIL_CODE_TTL_MS,
  EMAIL_LIMITS,
  EMAIL_SENT,
  auditUserCreated,
  LINK_NOTICE,
  sameHash,
  sha256hex,
  type AuthServiceDeps,
  type ClientInfo,
  type EmailCodeRecord,
  type EmailSent,
  type LoginSteps
} from './common.js'

export function createEmailLogin(d: AuthServiceDeps, steps: LoginSteps) {
  const { assertMayLogin, checkSecondFactor, issueSession } = steps
  // Issue 12 finding 1: the stored form of a 6-digit code must not be crackable offline (an
  // unsalted SHA-256 was, in under a second); the key comes from DATA_ENCRYPTION_KEY through HKDF.
  const codeKey = deriveKey(d.config.dataEncryptionKey as Buffer, 'email-code-mac')
  const codeMac = (email: string, code: string) =>
    createHmac('sha256', codeKey).update(`${email}\n${code}`).digest('hex')
  const retryAfter = (ttlMs: number | null) => ({
    'retry-after': String(Math.max(1, Math.ceil((ttlMs ?? 60_000) / 1000)))
  })
  const tooMany = (what: string, ttlMs: number | null) =>
    new LucidError('RATE_LIMITED', `Too many ${what} from this client for this address; try later`, {
      headers: retryAfter(ttlMs)
    })

  async function sendEmailCode(
    email: string,
    purpose: 'login' | 'link',
    client: ClientInfo,
    userId?: string
  ): Promise<{ message: string; expires_in: number }> {
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
    const base =
      d.config.magicLinkUrl ??
      `${d.config.publicUrl ?? `http://localhost:${d.config.httpPort}`}/api/v1/auth/magic?token={token}`
    const link = base.replace('{token}', encodeURIComponent(token))
    const what = purpose === 'link' ? 'confirm this email address for your Lucid account' : 'sign in to Lucid'
    await d.mailer.send({
      to: normalized,
      subject: purpose === 'link' ? 'Confirm your email for Lucid' : 'Your Lucid sign-in link',
      text: `Use this link to ${what}:\n\n${link}\n\nOr enter this code: ${code}\n\nThe link and code expire in 5 minutes and work once. If you did not ask for this, ignore this message.`,
      html: `<p>Use this link to ${what}:</p><p><a href="${link}">${link}</a></p><p>Or enter this code: <strong>${code}</strong></p><p>The link and code expire in 5 minutes and work once.</p>`
    })
    await d.audit(
      {
        actor_id: userId ?? null,
        action: purpose === 'link' ? 'auth.email_link_sent' : 'auth.magic_link_sent',
        target_type: 'email',
        target_id: sha256hex(normalized).slice(0, 16)
      },
      client
    )
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

  async function verifyEmail(
    input: { email?: string; code?: string; token?: string; totp_code?: string },
    client: ClientInfo
  ) {
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
      if (other !== null && other.user_id !== user.user_id)
        throw new LucidError('ALREADY_EXISTS', 'Email is already used by another account')
    } else {
      ;({ user, created } = await d.users.createOrGet({ email, role: 'user' }))
    }
    assertMayLogin(user)
    await checkSecondFactor(user, input.totp_code, client)
    if ((await d.store.take(`email-code:${email}`)) === null) throw new LucidError('CODE_EXPIRED')
    await d.store.del(`magic:${record.token_hash}`)
    if (record.purpose === 'link') user = await linkEmail(user.user_id, email, client)
    if (created) await auditUserCreated(d, user, { via: 'email' }, client)
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
    if (other !== null && other.user_id !== userId)
      throw new LucidError('ALREADY_EXISTS', 'Email is already used by another account')
    const user = await d.users.update(userId, { email })
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await d.identity.userChanged(userId)
    await d.audit({ actor_id: userId, action: 'user.email_linked', target_type: 'user', target_id: userId }, client)
    return user
  }

  return { sendEmailCode, sendLinkNotice, magicLinkUsable, verifyEmail }
}
