/**
 * Access and refresh JWTs (CONTRACT.md section 4) with jose: HS256 over the UTF-8 bytes of
 * JWT_SECRET_KEY (or EdDSA with a configured Ed25519 key), a `kid` naming the key so a rotated-out
 * key keeps verifying its tokens until they expire, and strict checks (algorithm pinned, iss/aud,
 * type, nbf/exp on the injected clock).
 */
import { createHash, createSecretKey, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose'
import type { SigningKey } from './keys.js'
import { LucidError } from '../errors.js'

export const TOKEN_ISSUER = 'lucid-api-gateway'
export const TOKEN_AUDIENCE = 'lucid-blockchain'

export type Role = 'user' | 'node_operator' | 'admin' | 'super_admin'
export const ROLES: readonly Role[] = ['user', 'node_operator', 'admin', 'super_admin']
/** How far a token's `iat` may lie ahead of this clock (instances' clocks differ slightly), ms. */
export const MAX_CLOCK_SKEW_MS = 30_000
export type TokenType = 'access' | 'refresh'

export interface TokenClaims {
  sub: string
  role: Role
  type: TokenType
  jti: string
  sid: string
  iat: number
  exp: number
}

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: 'Bearer'
  expires_in: number
}

export interface TokenServiceOptions {
  /** Current HS256 secret (JWT_SECRET_KEY). */
  secret: string
  /** Secrets rotated out, still accepted for verification (JWT_PREVIOUS_SECRET_KEYS). */
  previousSecrets?: string[]
  /** With JWT_ALGORITHM=EdDSA: the Ed25519 signing key and previous public keys still verified. */
  eddsa?: { current: SigningKey; previous: { kid: string; publicKey: KeyObject }[] }
  accessTtlS: number
  refreshTtlS: number
  now?: () => number
}

export interface TokenService {
  issuePair(input: { userId: string; role: Role; sid: string; refreshJti: string }): Promise<TokenPair>
  /** Verifies signature and claims; throws 2002 (expired) or 2003 (anything else) — 2010 for refresh. */
  verify(token: string, type: TokenType): Promise<TokenClaims>
  readonly accessTtlS: number
  readonly refreshTtlS: number
}

const kidOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16)

export function createTokenService(opts: TokenServiceOptions): TokenService {
  const now = opts.now ?? Date.now
  const alg = opts.eddsa !== undefined ? 'EdDSA' : 'HS256'
  const current =
    opts.eddsa !== undefined
      ? { kid: opts.eddsa.current.kid, key: opts.eddsa.current.privateKey, verify: opts.eddsa.current.publicKey }
      : {
          kid: kidOf(opts.secret),
          key: createSecretKey(Buffer.from(opts.secret, 'utf8')),
          verify: undefined as KeyObject | undefined
        }
  const currentVerify = current.verify ?? current.key
  const keys = new Map<string, KeyObject>([[current.kid, currentVerify]])
  if (opts.eddsa !== undefined) for (const p of opts.eddsa.previous) keys.set(p.kid, p.publicKey)
  else for (const s of opts.previousSecrets ?? []) keys.set(kidOf(s), createSecretKey(Buffer.from(s, 'utf8')))

  async function sign(
    claims: { sub: string; role: Role; type: TokenType; sid: string; jti: string },
    ttlS: number
  ): Promise<string> {
    const iat = Math.floor(now() / 1000)
    return new SignJWT({ role: claims.role, type: claims.type, sid: claims.sid })
      .setProtectedHeader({ alg, typ: 'JWT', kid: current.kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(claims.sub)
      .setJti(claims.jti)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttlS)
      .sign(current.key)
  }

  return {
    accessTtlS: opts.accessTtlS,
    refreshTtlS: opts.refreshTtlS,
    async issuePair({ userId, role, sid, refreshJti }) {
      const [access, refresh] = await Promise.all([
        sign({ sub: userId, role, type: 'access', sid, jti: randomUUID() }, opts.accessTtlS),
        sign({ sub: userId, role, type: 'refresh', sid, jti: refreshJti }, opts.refreshTtlS)
      ])
      return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: opts.accessTtlS }
    },
    async verify(token, type) {
      const invalid = type === 'refresh' ? 'REFRESH_INVALID' : 'TOKEN_INVALID'
      let payload: Record<string, unknown>
      try {
        const res = await jwtVerify(
          token,
          (header) => {
            // A token without kid is checked against the current key (CONTRACT.md section 2).
            const key = header.kid === undefined ? currentVerify : keys.get(header.kid)
            if (key === undefined) throw new LucidError(invalid, 'Token signed with an unknown key')
            return key
          },
          {
            algorithms: [alg],
            issuer: TOKEN_ISSUER,
            audience: TOKEN_AUDIENCE,
            currentDate: new Date(now()),
            requiredClaims: ['sub', 'jti', 'iat', 'exp']
          }
        )
        payload = res.payload as Record<string, unknown>
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired)
          throw new LucidError(
            type === 'refresh' ? 'REFRESH_INVALID' : 'TOKEN_EXPIRED',
            type === 'refresh' ? 'Refresh token has expired' : 'Token has expired'
          )
        if (err instanceof LucidError) throw err
        throw new LucidError(invalid, undefined, { cause: err })
      }
      if (payload.type !== type) throw new LucidError(invalid, `Expected a ${type} token`)
      // A token "issued" in the future comes from a skewed clock or a forger (issue 12 finding 10).
      if (typeof payload.iat !== 'number' || payload.iat * 1000 > now() + MAX_CLOCK_SKEW_MS) {
        throw new LucidError(invalid, 'Token issued in the future')
      }
      if (typeof payload.sid !== 'string' || !ROLES.includes(payload.role as Role))
        throw new LucidError(invalid, 'Token claims are malformed')
      return payload as unknown as TokenClaims
    }
  }
}
