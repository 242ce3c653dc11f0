/**
 * Wallet login and address linking (CONTRACT.md section 4): a TIP-191 challenge stored under a
 * single-use nonce, the signature check, and the account it signs in to or links.
 */
import { randomBytes } from 'node:crypto'
import { LucidError } from '../../errors.js'
import type { Role } from '../../crypto/tokens.js'
import { recoverSigner, SignatureFormatError } from '../../crypto/tron.js'
import type { UserRow, WalletType } from '../../data/repositories/users.js'
import { auditUserCreated, CHALLENGE_TTL_MS, type AuthServiceDeps, type ClientInfo, type LoginSteps } from './common.js'

interface ChallengeRecord {
  address: string
  message: string
  expires_at: string
  purpose: 'login' | 'link'
}

export function createWalletLogin(d: AuthServiceDeps, steps: LoginSteps) {
  const { assertMayLogin, checkSecondFactor, issueSession } = steps
  const bootstrap = new Set(d.config.bootstrapSuperAdmins)

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
  async function proveAddress(
    input: { tron_address: string; signature: string; nonce: string },
    purpose: 'login' | 'link',
    client: ClientInfo
  ): Promise<() => Promise<void>> {
    const raw = /^[0-9a-f]{32}$/.test(input.nonce) ? await d.store.get(`challenge:${input.nonce}`) : null
    const record = raw === null ? null : (JSON.parse(raw) as ChallengeRecord)
    if (record === null || Date.parse(record.expires_at) <= d.now()) throw new LucidError('NONCE_INVALID')
    if (record.address !== input.tron_address || record.purpose !== purpose)
      throw new LucidError('NONCE_INVALID', 'Challenge nonce was issued for another address or purpose')
    let signer: string | null
    try {
      signer = recoverSigner(record.message, input.signature, input.tron_address)
    } catch (err) {
      if (err instanceof SignatureFormatError)
        throw new LucidError('SIGNATURE_INVALID', `Malformed signature: ${err.message}`)
      throw err
    }
    if (signer !== input.tron_address) {
      // Logged and limited per IP by the caller; never counted against the (public) address.
      await d.audit(
        {
          action: 'auth.signature_failure',
          outcome: 'failure',
          target_type: 'tron_address',
          target_id: input.tron_address
        },
        client
      )
      throw new LucidError('SIGNATURE_INVALID')
    }
    return async () => {
      if ((await d.store.take(`challenge:${input.nonce}`)) === null)
        throw new LucidError('NONCE_INVALID', 'Challenge nonce was already used')
    }
  }

  async function walletLogin(
    input: { tron_address: string; signature: string; nonce: string; wallet_type?: WalletType; totp_code?: string },
    client: ClientInfo
  ) {
    const consume = await proveAddress(input, 'login', client)
    const role: Role = bootstrap.has(input.tron_address) ? 'super_admin' : 'user'
    const res = await d.users.createOrGet({
      tron_address: input.tron_address,
      wallet_type: input.wallet_type ?? 'software',
      role
    })
    const created = res.created
    let user = res.user
    assertMayLogin(user)
    await checkSecondFactor(user, input.totp_code, client)
    await consume()
    if (!created && input.wallet_type !== undefined && input.wallet_type !== user.wallet_type) {
      user = (await d.users.update(user.user_id, { wallet_type: input.wallet_type })) as UserRow
    }
    if (created) await auditUserCreated(d, user, { via: 'wallet', role }, client)
    return issueSession(user, 'wallet', client)
  }

  async function linkWallet(
    userId: string,
    input: { tron_address: string; signature: string; nonce: string; wallet_type?: WalletType },
    client: ClientInfo
  ): Promise<UserRow> {
    const consume = await proveAddress(input, 'link', client)
    const other = await d.users.findByAddress(input.tron_address)
    if (other !== null && other.user_id !== userId)
      throw new LucidError('ALREADY_EXISTS', 'Address is already used by another account')
    await consume()
    const user = await d.users.update(userId, {
      tron_address: input.tron_address,
      wallet_type: input.wallet_type ?? 'software'
    })
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await d.identity.userChanged(userId)
    await d.audit(
      {
        actor_id: userId,
        action: 'user.wallet_linked',
        target_type: 'user',
        target_id: userId,
        details: { tron_address: input.tron_address }
      },
      client
    )
    return user
  }

  return { challenge, walletLogin, linkWallet }
}
