/**
 * Authentication guard and role checks (CONTRACT.md section 4). Routes opt in with
 * `onRequest: [app.authenticate]` (and `app.requireRole('admin')`), never by URL prefix.
 * The role used for decisions is the user's current role from the database (through the identity
 * cache), so a demotion, lock or deletion applies on the next request, not at token expiry.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { LucidError } from '../errors.js'
import {
  createTokenService,
  type Role,
  type TokenClaims,
  type TokenService,
  type TokenServiceOptions
} from '../crypto/tokens.js'
import { identityKey, loadPublicKey, loadSigningKey, toJwk, type PublicJwk, type SigningKey } from '../crypto/keys.js'
import type { UserRow } from '../data/repositories/users.js'
import type { AuditEntry } from '../data/repositories/audit.js'
import { createRepositories, type Repositories } from '../data/repositories/index.js'
import { lowerRole, roleAtLeast, userBlockReason } from '../auth/roles.js'
import { hashApiKey } from '../auth/api-keys.js'
import { createIdentityState, type IdentityState } from '../services/identity-state.js'
import { inStage } from '../tracing/request.js'

export interface AuthUser {
  id: string
  role: Role
  /** Login session id (`sid` claim); absent for API keys. */
  sid?: string
  apiKeyId?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService
    identity: IdentityState
    /** Ed25519 key that signs X-Lucid-Identity for upstreams. */
    identityKey: SigningKey
    /** The public keys published at /.well-known/jwks.json. */
    jwks(): { keys: PublicJwk[] }
    repos: Repositories
    authenticate: onRequestHookHandler
    authenticateOptional: onRequestHookHandler
    /** Verifies the request's credentials once; null when none were sent; rejects when invalid. */
    resolveIdentity(request: FastifyRequest): Promise<AuthUser | null>
    /** Same checks for a raw header set (WebSocket upgrades, which bypass the router). */
    identifyHeaders(headers: FastifyRequest['headers']): Promise<AuthUser | null>
    requireRole(min: Role): onRequestHookHandler
    /** Appends an audit entry with the request's actor, ip and id; never fails the request. */
    audit(request: FastifyRequest, entry: AuditEntry): Promise<void>
  }
  interface FastifyRequest {
    user?: AuthUser
    /** Result of resolving the credentials once per request (the limiter resolves first). */
    authResolution?: Promise<AuthUser | null>
  }
}

/** What a route's onRequest guard demands, so the OpenAPI document is derived from the guards themselves. */
export type Guard = { kind: 'authenticate' } | { kind: 'optional' } | { kind: 'role'; role: Role }
const guards = new WeakMap<object, Guard>()
export const describeGuard = (hook: unknown): Guard | undefined =>
  typeof hook === 'function' ? guards.get(hook) : undefined

async function authPlugin(app: FastifyInstance): Promise<void> {
  const config = app.config
  const repos = createRepositories(app.db, app.log)
  app.decorate('repos', repos)
  // Key files are read once here; a bad key is a start-up error naming its variable.
  let eddsa: TokenServiceOptions['eddsa']
  let identity: SigningKey
  try {
    if (config.jwtAlgorithm === 'EdDSA') {
      eddsa = {
        current: loadSigningKey(config.jwtSigningKey as string),
        previous: config.jwtPreviousPublicKeys.map(loadPublicKey)
      }
    }
  } catch (err) {
    throw new Error(`JWT_SIGNING_KEY / JWT_PREVIOUS_PUBLIC_KEYS: ${(err as Error).message}`)
  }
  try {
    identity = identityKey(config.dataEncryptionKey as Buffer, config.identitySigningKey)
  } catch (err) {
    throw new Error(`IDENTITY_SIGNING_KEY: ${(err as Error).message}`)
  }
  app.decorate('identityKey', identity)
  app.decorate('jwks', () => {
    const keys = [toJwk(identity.kid, identity.publicKey)]
    if (eddsa !== undefined)
      keys.push(
        toJwk(eddsa.current.kid, eddsa.current.publicKey),
        ...eddsa.previous.map((p) => toJwk(p.kid, p.publicKey))
      )
    return { keys }
  })
  app.decorate(
    'tokens',
    createTokenService({
      secret: config.jwtSecretKey as string,
      previousSecrets: config.jwtPreviousSecretKeys,
      eddsa,
      accessTtlS: config.accessTokenTtlS,
      refreshTtlS: config.refreshTokenTtlS,
      now: app.now
    })
  )
  const identityState = createIdentityState({
    users: repos.users,
    sessions: repos.authSessions,
    stateStore: app.stateStore,
    pollMs: config.revocationPollMs,
    onError: (err) => app.log.warn({ err }, 'identity cache refresh failed')
  })
  app.decorate('identity', identityState)
  app.addHook('onReady', () => identityState.start())
  app.addHook('onClose', () => identityState.stop())

  // Verified-token cache (issue 9): a signature is checked once per token; expiry is still
  // enforced on every hit, and revocation, lock and role come from the identity cache below on
  // every request, so caching never extends what a token may do.
  const verified = new Map<string, TokenClaims>()
  const VERIFIED_MAX = 10_000
  async function verifyAccess(token: string): Promise<TokenClaims> {
    const hit = verified.get(token)
    if (hit !== undefined) {
      if (hit.exp * 1000 > app.now()) return hit
      verified.delete(token)
    }
    const claims = await app.tokens.verify(token, 'access')
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string)
    verified.set(token, claims)
    return claims
  }

  async function resolve(request: Pick<FastifyRequest, 'headers'>): Promise<AuthUser | null> {
    const header = request.headers.authorization
    const apiKey = request.headers['x-api-key']
    if (typeof header === 'string' && header !== '') {
      const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header)
      if (m === null) throw new LucidError('TOKEN_INVALID', 'Authorization header must be "Bearer <token>"')
      const claims = await verifyAccess(m[1])
      if (await identityState.sessionRevoked(claims.sid, claims.sub)) {
        throw new LucidError('TOKEN_INVALID', 'Token has been revoked')
      }
      const user = await identityState.user(claims.sub)
      const blocked = userBlockReason(user, app.now())
      if (blocked !== null) throw blocked
      return { id: claims.sub, role: (user as UserRow).role, sid: claims.sid }
    }
    if (typeof apiKey === 'string' && apiKey !== '') {
      const row = await repos.apiKeys.findByHash(hashApiKey(apiKey))
      if (row === null || row.revoked_at !== null)
        throw new LucidError('TOKEN_INVALID', 'API key is invalid or revoked')
      if (row.expires_at !== null && row.expires_at.getTime() <= app.now())
        throw new LucidError('TOKEN_EXPIRED', 'API key has expired')
      const user = await identityState.user(row.user_id)
      const blocked = userBlockReason(user, app.now())
      if (blocked !== null) throw blocked
      void repos.apiKeys.touch(row.key_id).catch(() => undefined)
      // A key never carries more than its owner holds now.
      return { id: row.user_id, role: lowerRole(row.role, (user as UserRow).role), apiKeyId: row.key_id }
    }
    return null
  }

  const resolveOnce = (request: FastifyRequest): Promise<AuthUser | null> => {
    request.authResolution ??= inStage(request.trace, 'auth', () => resolve(request))
    return request.authResolution
  }
  app.decorate('resolveIdentity', resolveOnce)
  app.decorate('identifyHeaders', (headers: FastifyRequest['headers']) => resolve({ headers }))

  const authenticate = async function (request: FastifyRequest, reply: FastifyReply) {
    const user = await resolveOnce(request)
    if (user === null) {
      reply.header('www-authenticate', 'Bearer realm="lucid"')
      throw new LucidError('AUTH_REQUIRED')
    }
    request.user = user
    request.userId = user.id
  }
  const authenticateOptional = async function (request: FastifyRequest) {
    try {
      const user = await resolveOnce(request)
      if (user !== null) {
        request.user = user
        request.userId = user.id
      }
    } catch {
      // Optional: a bad token on a public route is treated as anonymous.
    }
  }
  guards.set(authenticate, { kind: 'authenticate' })
  guards.set(authenticateOptional, { kind: 'optional' })
  app.decorate('authenticate', authenticate)
  app.decorate('authenticateOptional', authenticateOptional)
  app.decorate('requireRole', (min: Role) => {
    const hook = async function (request: FastifyRequest) {
      if (request.user === undefined) throw new LucidError('AUTH_REQUIRED')
      if (!roleAtLeast(request.user.role, min)) throw new LucidError('FORBIDDEN', `Requires role ${min} or above`)
    }
    guards.set(hook, { kind: 'role', role: min })
    return hook
  })
  app.decorate('audit', async (request: FastifyRequest, entry: AuditEntry) => {
    try {
      await repos.audit.append({
        actor_id: request.user?.id ?? null,
        actor_role: request.user?.role ?? null,
        ip: request.ip,
        request_id: request.id,
        ...entry
      })
    } catch (err) {
      request.log.error({ err, action: entry.action }, 'could not write audit entry')
    }
  })
}

export default fp(authPlugin, { name: 'lucid-auth', dependencies: ['lucid-infrastructure'] })
