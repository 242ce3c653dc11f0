/**
 * Configuration: read once from the environment, validated, frozen (STYLE.md "Config").
 * Every violation is collected so an operator fixes them all in one go; every message names
 * the environment variable it is about (CONTRACT.md section 2).
 */
import path from 'node:path'
import { availableParallelism } from 'node:os'
import { parseRules, type RouteRule } from './ratelimit/rules.js'
import { readServerTimingSettings, readTracingSettings } from './tracing/settings.js'
import type { ServerTimingSettings, TracingSettings } from './tracing/settings.js'

export type TrustProxy = boolean | number | string[]
export type RateLimitFailureMode = 'degrade' | 'open' | 'closed'

export interface Config {
  /** HTTP listener port (default 8080). */
  httpPort: number
  /** HTTPS listener port (default 8081), used only with sslCertPath/sslKeyPath. */
  httpsPort: number
  host: string
  sslCertPath?: string
  sslKeyPath?: string
  /** With TLS on, answer plain HTTP with a 308 to HTTPS (probes and /metrics excepted). */
  httpRedirectToHttps: boolean
  /** Worker processes (node:cluster); 1 runs in-process. WORKERS=auto uses one per core. */
  workers: number
  /** Where backups are written (default DATA_DIR/backups). */
  backupDir: string
  /** Root of named storage volumes (default DATA_DIR/volumes). */
  volumesRoot: string
  /** Days an expired or revoked login session is kept before the retention job deletes it. */
  authSessionRetentionDays: number
  /** Embedded database, generated secrets, outbox and chunk store live here (default ./data). */
  dataDir: string
  databaseUrl?: string
  /** Embedded mode: PostgreSQL shared_buffers inside PGlite, MiB (default 16); most of its memory. */
  embeddedDbSharedBuffersMb: number
  databasePoolMax: number
  /** Statement timeout applied to every pooled PostgreSQL connection, ms. */
  databaseStatementTimeoutMs: number
  redisUrl?: string
  /** Redis Cluster seed nodes (host:port); when set, every Redis-backed store uses the cluster. */
  redisClusterNodes: string[]
  /** Namespace for every key this gateway writes to Redis (default "lucid:"). */
  stateKeyPrefix: string
  /** Client-side deadline for a Redis command, ms. */
  redisCommandTimeoutMs: number
  jwtSecretKey?: string
  /** Rotated-out HS256 secrets still accepted for verification until their tokens expire. */
  jwtPreviousSecretKeys: string[]
  /** HS256 (default) or EdDSA for access/refresh tokens. */
  jwtAlgorithm: 'HS256' | 'EdDSA'
  /** Ed25519 private key (PEM or path) for EdDSA tokens. */
  jwtSigningKey?: string
  /** Previous Ed25519 public keys (PEM paths) still accepted for verification. */
  jwtPreviousPublicKeys: string[]
  /** Ed25519 private key (PEM or path) for X-Lucid-Identity; derived from DATA_ENCRYPTION_KEY when unset. */
  identitySigningKey?: string
  /** How often each instance re-reads revocations and user changes from the database, ms. */
  revocationPollMs: number
  /** 32 bytes (64 hex chars or base64), encrypts secrets at rest. */
  dataEncryptionKey?: Buffer
  accessTokenTtlS: number
  refreshTokenTtlS: number
  refreshReuseGraceS: number
  bootstrapSuperAdmins: string[]
  smtpUrl?: string
  mailFrom: string
  magicLinkUrl?: string
  /**
   * Where the default magic-link page sends the browser after signing in, with the tokens in the
   * URL fragment (#access_token=…&refresh_token=…); unset: it hands them to the app that opened it.
   */
  magicLinkReturnUrl?: string
  publicUrl?: string
  corsOrigins: string[] | '*'
  /** Host header allow-list; ['*'] accepts any host so probes by pod IP work. */
  allowedHosts: string[]
  trustProxy: TrustProxy
  bodyLimitBytes: number
  logLevel: string
  docsEnabled: boolean
  /** The operator dashboard (issue 18): served at `path` (default /admin) unless disabled. */
  adminUi: { enabled: boolean; path: string }
  keepAliveTimeoutMs: number
  requestTimeoutMs: number
  headersTimeoutMs: number
  shutdownTimeoutMs: number
  jobsEnabled: boolean
  healthCacheMs: number
  /** Event-loop delay that counts as queueing, ms (default 100; 0 turns overload shedding off). */
  loadShedMaxEventLoopDelayMs: number
  /** How long that delay must last before requests are shed with 503, ms (default 2000). */
  loadShedSustainMs: number
  /** Requests in progress per process above which new ones get a fast 503 (default 384; 0 = no cap). */
  loadShedMaxInFlight: number
  /** Requests in progress per client (IP; IPv6 by RATE_LIMIT_IPV6_PREFIX, /64); more wait in a queue (default a quarter of the cap). */
  loadShedMaxInFlightPerClient: number
  /** Requests one client may have waiting for a slot; beyond, 429 (default 1024). */
  loadShedClientQueue: number
  /** How long a request may wait for its client's slot before a 429, ms (default 10 000). */
  loadShedQueueTimeoutMs: number
  /** Base allowance to receive a request body, ms (default 10 000); see requestBodyMinBytesPerS. */
  requestBodyTimeoutMs: number
  /** Each this many bytes received extends the body allowance by 1 s (default 1024). */
  requestBodyMinBytesPerS: number
  /** Accept queue length for the listeners (the kernel caps it at net.core.somaxconn). */
  listenBacklog: number
  environment: string
  rateLimit: {
    enabled: boolean
    public: number
    authenticated: number
    nodeOperator: number
    admin: number
    /** Shared per-IP bucket of POST /auth/challenge|login|verify, per minute. */
    auth: number
    /** /api/v1/chain/blocks* per user, per minute. */
    chainBlocks: number
    failureMode: RateLimitFailureMode
    /**
     * Where a key's local share starts when the limiter degrades (several live instances):
     * `minimal` (default; one request, then only the refill: at most one request per instance
     * and identity beyond the limit per outage) or `last-known` (from the TAT this instance last
     * got from Redis; an unseen key gets a full share).
     */
    degradedStart: 'minimal' | 'last-known'
    /**
     * Wall-clock ms a limiter reply may be overdue (measured after the event loop has read its
     * sockets, so a busy loop never counts) before Redis is treated as failed; default 200.
     */
    redisTimeoutMs: number
    /** Fixed instance count for the degraded share; default: learnt from heartbeats. */
    instanceCount?: number
    escalation: boolean
    /** Chunk upload bandwidth per user, bytes per second. */
    bandwidthBytesPerS: number
    /** Leading bits of an IPv6 address that name one client for per-IP limits (default 64). */
    ipv6PrefixBits: number
    rules: RouteRule[]
  }
  /** Bearer token /metrics requires when set (compared in constant time); unset: no token. */
  metricsToken?: string
  /** Serve /metrics only on this separate port (default: on the API port); 0 or unset: off. */
  metricsPort?: number
  /** Bind address of the separate metrics listener (default 127.0.0.1). */
  metricsHost: string
  /** Where chunk bytes are stored (default DATA_DIR/chunks); shared storage with several instances. */
  chunkStoreDir?: string
  maxSessionsPerUser: number
  /** Idempotency-Key records one user may create within their 24 h lifetime (issue 12). */
  idempotencyMaxRecordsPerUser: number
  /** Bytes of replayable responses one user may have stored within 24 h (issue 12). */
  idempotencyMaxBytesPerUser: number
  anchorPollIntervalMs: number
  /** How often the chain-sync job copies new lucid_blocks blocks (0 disables), ms. */
  chainSyncIntervalMs: number
  /** Days a soft-deleted session keeps its chunks before the retention job purges it. */
  sessionRetentionDays: number
  /** OpenTelemetry tracing (OTEL_* variables); off while no OTLP endpoint is set. */
  tracing: TracingSettings
  /** Server-Timing response header (SERVER_TIMING*), off by default. */
  serverTiming: ServerTimingSettings
  /** JSON file replacing or extending the proxy route table. */
  proxyRoutesFile?: string
  /** Seconds between active health checks of each upstream host. */
  upstreamHealthIntervalMs: number
  upstreamBreaker: { failureThreshold: number; successThreshold: number; openMs: number; minimumRequests: number; halfOpenMaxProbes: number }
  upstreams: {
    blockchainCoreUrl: string
    tronPaymentUrl: string
    nodeServiceUrl: string
    connectTimeoutMs: number
    timeoutMs: number
    blockchainCoreTimeoutMs: number
    tronPaymentTimeoutMs: number
    nodeServiceTimeoutMs: number
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Small typed readers that record a problem instead of throwing, so all are reported at once. */
const MIB = 1024 * 1024

function readers(env: Env, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const int = (name: string, def: number, min: number, max: number): number => {
    const v = raw(name)
    if (v === undefined) return def
    if (!/^-?\d+$/.test(v)) {
      problems.push(`${name} must be an integer, got "${v}"`)
      return def
    }
    const n = Number(v)
    if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`)
    return n
  }
  const bool = (name: string, def: boolean): boolean => {
    const v = raw(name)
    if (v === undefined) return def
    if (/^(true|1|yes|on)$/i.test(v)) return true
    if (/^(false|0|no|off)$/i.test(v)) return false
    problems.push(`${name} must be true or false, got "${v}"`)
    return def
  }
  const list = (name: string, def: string[]): string[] => {
    const v = raw(name)
    if (v === undefined) return def
    return v.split(',').map((s) => s.trim()).filter(Boolean)
  }
  const url = (name: string, protocols: string[]): string | undefined => {
    const v = raw(name)
    if (v === undefined) return undefined
    try {
      const u = new URL(v)
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')}, got "${u.protocol}"`)
    } catch {
      problems.push(`${name} is not a valid URL`)
    }
    return v
  }
  return { raw, int, bool, list, url }
}

function parseTrustProxy(v: string | undefined, problems: string[]): TrustProxy {
  if (v === undefined || /^(false|0|no|off)$/i.test(v)) return false
  if (/^(true|yes|on)$/i.test(v)) return true
  if (/^\d+$/.test(v)) return Number(v)
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean)
  for (const p of parts) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p)) problems.push(`TRUST_PROXY entry "${p}" is not an IP address or CIDR`)
  }
  return parts
}

function parseKey(name: string, v: string | undefined, problems: string[]): Buffer | undefined {
  if (v === undefined) return undefined
  const buf = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64')
  if (buf.length !== 32) {
    problems.push(`${name} must be 32 bytes given as 64 hex characters or base64`)
    return undefined
  }
  return buf
}

/**
 * Build the configuration from an environment map. Throws ConfigError listing every problem.
 * Secrets missing in embedded mode are filled in later by `ensureEmbeddedSecrets`.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const r = readers(env, problems)

  const databaseUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:'])
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:'])
  const redisClusterNodes = r.list('REDIS_CLUSTER_NODES', [])
  for (const n of redisClusterNodes) if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(n)) problems.push(`REDIS_CLUSTER_NODES entry "${n}" must be host:port`)
  const jwtSecretKey = r.raw('JWT_SECRET_KEY')
  if (jwtSecretKey !== undefined && jwtSecretKey.length < 32) {
    problems.push('JWT_SECRET_KEY must be at least 32 characters')
  }
  const dataEncryptionKey = parseKey('DATA_ENCRYPTION_KEY', r.raw('DATA_ENCRYPTION_KEY'), problems)
  if (databaseUrl !== undefined) {
    // Several instances may share this database: a secret generated per instance would split them.
    if (jwtSecretKey === undefined) problems.push('JWT_SECRET_KEY is required when DATABASE_URL is set')
    if (r.raw('DATA_ENCRYPTION_KEY') === undefined) problems.push('DATA_ENCRYPTION_KEY is required when DATABASE_URL is set')
  }

  const cors = r.list('CORS_ORIGINS', [])
  let corsOrigins: string[] | '*' = cors
  if (cors.includes('*')) {
    if (cors.length > 1) problems.push('CORS_ORIGINS must be "*" alone or a list of origins')
    corsOrigins = '*'
  } else {
    for (const o of cors) {
      try {
        const u = new URL(o)
        if (u.origin !== o) problems.push(`CORS_ORIGINS entry "${o}" must be an origin (scheme://host[:port]) without path`)
      } catch {
        problems.push(`CORS_ORIGINS entry "${o}" is not a valid origin`)
      }
    }
  }

  const bootstrap = r.list('BOOTSTRAP_SUPER_ADMINS', [])
  for (const a of bootstrap) {
    if (!/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(a)) problems.push(`BOOTSTRAP_SUPER_ADMINS entry "${a}" is not a TRON address`)
  }

  const failureMode = (r.raw('RATE_LIMIT_FAILURE_MODE') ?? 'degrade') as RateLimitFailureMode
  if (!['degrade', 'open', 'closed'].includes(failureMode)) {
    problems.push(`RATE_LIMIT_FAILURE_MODE must be degrade, open or closed, got "${failureMode}"`)
  }

  const degradedStart = (r.raw('RATE_LIMIT_DEGRADED_START') ?? 'minimal') as 'minimal' | 'last-known'
  if (!['minimal', 'last-known'].includes(degradedStart)) {
    problems.push(`RATE_LIMIT_DEGRADED_START must be minimal or last-known, got "${degradedStart}"`)
  }

  const jwtAlgorithm = (r.raw('JWT_ALGORITHM') ?? 'HS256') as 'HS256' | 'EdDSA'
  if (jwtAlgorithm !== 'HS256' && jwtAlgorithm !== 'EdDSA') problems.push(`JWT_ALGORITHM must be HS256 or EdDSA, got "${jwtAlgorithm}"`)
  if (jwtAlgorithm === 'EdDSA' && r.raw('JWT_SIGNING_KEY') === undefined) problems.push('JWT_SIGNING_KEY (an Ed25519 private key, PEM or path) is required when JWT_ALGORITHM=EdDSA')

  const logLevel = r.raw('LOG_LEVEL') ?? 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${logLevel}"`)
  }

  const workersRaw = r.raw('WORKERS') ?? '1'
  let workers = 1
  if (workersRaw === 'auto') workers = Math.max(1, availableParallelism())
  else if (/^\d+$/.test(workersRaw) && Number(workersRaw) >= 1 && Number(workersRaw) <= 64) workers = Number(workersRaw)
  else problems.push(`WORKERS must be "auto" or an integer between 1 and 64, got "${workersRaw}"`)
  if (workers > 1 && (r.raw('DATABASE_URL') === undefined || (r.raw('REDIS_URL') === undefined && r.raw('REDIS_CLUSTER_NODES') === undefined))) {
    problems.push(`WORKERS=${workersRaw} runs several processes, which needs DATABASE_URL and REDIS_URL: embedded PGlite is single-process, and in-process rate limits and revocations would split between workers`)
  }
  const sslCertPath = r.raw('SSL_CERT_PATH')
  const sslKeyPath = r.raw('SSL_KEY_PATH')
  if ((sslCertPath === undefined) !== (sslKeyPath === undefined)) {
    problems.push('SSL_CERT_PATH and SSL_KEY_PATH must be set together')
  }

  const adminUiPath = (r.raw('ADMIN_UI_PATH') ?? '/admin').replace(/\/+$/, '')
  // Its own path segment(s), and not one the gateway already answers (API, probes, docs, JWKS).
  if (!/^(\/[a-z0-9][a-z0-9_-]{0,40}){1,4}$/.test(adminUiPath)) {
    problems.push(`ADMIN_UI_PATH must be a path like /admin (segments of a-z, 0-9, _ and -), got "${adminUiPath}"`)
  } else if (/^\/(api|docs|health|ready|metrics|openapi\.json|\.well-known)(\/|$)/.test(adminUiPath)) {
    problems.push(`ADMIN_UI_PATH must not be under a path the gateway already serves, got "${adminUiPath}"`)
  }

  const keepAliveTimeoutMs = r.int('KEEP_ALIVE_TIMEOUT_MS', 72_000, 1_000, 600_000)
  const requestTimeoutMs = r.int('REQUEST_TIMEOUT_MS', 120_000, 1_000, 3_600_000)
  // Slow headers hold a socket for nothing (issue 12): 10 s, checked every second (app.ts).
  const headersTimeoutMs = r.int('HEADERS_TIMEOUT_MS', 10_000, 1_000, 600_000)
  const loadShedMaxInFlight = r.int('LOAD_SHED_MAX_IN_FLIGHT', 384, 0, 1_000_000)
  if (headersTimeoutMs > requestTimeoutMs) problems.push('HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS')

  const metricsToken = r.raw('METRICS_TOKEN')
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    problems.push('METRICS_TOKEN must be 16–256 visible ASCII characters')
  }
  // Without PUBLIC_URL the redirect would name whatever host the client sent (issue 12 finding 10).
  const httpRedirectToHttps = r.bool('HTTP_REDIRECT_TO_HTTPS', false)
  const anyHost = r.list('ALLOWED_HOSTS', ['*']).includes('*')
  if (sslCertPath !== undefined && httpRedirectToHttps && r.raw('PUBLIC_URL') === undefined && anyHost) {
    problems.push(
      'HTTP_REDIRECT_TO_HTTPS needs PUBLIC_URL, or ALLOWED_HOSTS without "*": ' +
        "the redirect target would otherwise come from the client's Host header"
    )
  }

  const config: Config = {
    httpPort: r.int('HTTP_PORT', 8080, 0, 65535),
    httpsPort: r.int('HTTPS_PORT', 8081, 0, 65535),
    host: r.raw('HOST') ?? '0.0.0.0',
    sslCertPath,
    sslKeyPath,
    dataDir: path.resolve(r.raw('DATA_DIR') ?? './data'),
    httpRedirectToHttps,
    workers,
    backupDir: path.resolve(r.raw('BACKUP_DIR') ?? path.join(r.raw('DATA_DIR') ?? './data', 'backups')),
    volumesRoot: path.resolve(r.raw('VOLUMES_ROOT') ?? path.join(r.raw('DATA_DIR') ?? './data', 'volumes')),
    authSessionRetentionDays: r.int('AUTH_SESSION_RETENTION_DAYS', 30, 1, 3650),
    databaseUrl,
    embeddedDbSharedBuffersMb: r.int('EMBEDDED_DB_SHARED_BUFFERS_MB', 16, 1, 4096),
    databasePoolMax: r.int('DATABASE_POOL_MAX', 10, 1, 1000),
    databaseStatementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
    redisUrl,
    redisClusterNodes,
    stateKeyPrefix: r.raw('STATE_KEY_PREFIX') ?? 'lucid:',
    redisCommandTimeoutMs: r.int('REDIS_COMMAND_TIMEOUT_MS', 500, 1, 60_000),
    jwtSecretKey,
    jwtPreviousSecretKeys: r.list('JWT_PREVIOUS_SECRET_KEYS', []),
    jwtAlgorithm,
    jwtSigningKey: r.raw('JWT_SIGNING_KEY'),
    jwtPreviousPublicKeys: r.list('JWT_PREVIOUS_PUBLIC_KEYS', []),
    identitySigningKey: r.raw('IDENTITY_SIGNING_KEY'),
    revocationPollMs: r.int('REVOCATION_POLL_MS', 1_000, 50, 60_000),
    dataEncryptionKey,
    accessTokenTtlS: r.int('ACCESS_TOKEN_TTL_S', 900, 30, 86_400),
    refreshTokenTtlS: r.int('REFRESH_TOKEN_TTL_S', 604_800, 60, 31_536_000),
    refreshReuseGraceS: r.int('REFRESH_REUSE_GRACE_S', 0, 0, 60),
    bootstrapSuperAdmins: bootstrap,
    smtpUrl: r.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: r.raw('MAIL_FROM') ?? 'Lucid <no-reply@lucid.local>',
    magicLinkUrl: r.raw('MAGIC_LINK_URL'),
    magicLinkReturnUrl: r.url('MAGIC_LINK_RETURN_URL', ['http:', 'https:']),
    publicUrl: r.url('PUBLIC_URL', ['http:', 'https:']),
    corsOrigins,
    allowedHosts: r.list('ALLOWED_HOSTS', ['*']).map((h) => h.toLowerCase()),
    trustProxy: parseTrustProxy(r.raw('TRUST_PROXY'), problems),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600),
    logLevel,
    docsEnabled: r.bool('DOCS_ENABLED', true),
    adminUi: { enabled: r.bool('ADMIN_UI_ENABLED', true), path: adminUiPath },
    keepAliveTimeoutMs,
    requestTimeoutMs,
    headersTimeoutMs,
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000),
    jobsEnabled: r.bool('JOBS_ENABLED', true),
    healthCacheMs: r.int('HEALTH_CACHE_MS', 2_000, 0, 60_000),
    loadShedMaxEventLoopDelayMs: r.int('LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', 100, 0, 60_000),
    loadShedSustainMs: r.int('LOAD_SHED_SUSTAIN_MS', 2_000, 0, 600_000),
    loadShedMaxInFlight,
    loadShedMaxInFlightPerClient: r.int(
      'LOAD_SHED_MAX_IN_FLIGHT_PER_CLIENT',
      Math.floor(loadShedMaxInFlight / 4),
      0,
      1_000_000
    ),
    loadShedClientQueue: r.int('LOAD_SHED_CLIENT_QUEUE', 1_024, 0, 1_000_000),
    loadShedQueueTimeoutMs: r.int('LOAD_SHED_QUEUE_TIMEOUT_MS', 10_000, 1, 600_000),
    requestBodyTimeoutMs: r.int('REQUEST_BODY_TIMEOUT_MS', 10_000, 100, 3_600_000),
    requestBodyMinBytesPerS: r.int('REQUEST_BODY_MIN_BYTES_PER_S', 1_024, 1, 1_073_741_824),
    listenBacklog: r.int('LISTEN_BACKLOG', 2048, 1, 65_535),
    environment: r.raw('LUCID_ENV') ?? 'production',
    rateLimit: {
      enabled: r.bool('RATE_LIMIT_ENABLED', true),
      public: r.int('RATE_LIMIT_PUBLIC', 100, 1, 10_000_000),
      authenticated: r.int('RATE_LIMIT_AUTHENTICATED', 1_000, 1, 10_000_000),
      nodeOperator: r.int('RATE_LIMIT_NODE_OPERATOR', 5_000, 1, 10_000_000),
      admin: r.int('RATE_LIMIT_ADMIN', 10_000, 1, 10_000_000),
      auth: r.int('RATE_LIMIT_AUTH', 10, 1, 10_000_000),
      chainBlocks: r.int('RATE_LIMIT_CHAIN_BLOCKS', 500, 1, 10_000_000),
      failureMode,
      degradedStart,
      redisTimeoutMs: r.int('RATE_LIMIT_REDIS_TIMEOUT_MS', 200, 1, 10_000),
      instanceCount: r.raw('RATE_LIMIT_INSTANCE_COUNT') === undefined ? undefined : r.int('RATE_LIMIT_INSTANCE_COUNT', 1, 1, 10_000),
      escalation: r.bool('RATE_LIMIT_ESCALATION', false),
      bandwidthBytesPerS: r.int('RATE_LIMIT_BANDWIDTH_BYTES_PER_S', 10 * 1024 * 1024, 1024, 10 * 1024 * 1024 * 1024),
      ipv6PrefixBits: r.int('RATE_LIMIT_IPV6_PREFIX', 64, 1, 128),
      rules: parseRules(r.raw('RATE_LIMIT_RULES'), problems)
    },
    metricsToken,
    metricsPort: r.raw('METRICS_PORT') === undefined ? undefined : r.int('METRICS_PORT', 0, 0, 65535) || undefined,
    metricsHost: r.raw('METRICS_HOST') ?? '127.0.0.1',
    tracing: readTracingSettings(env, problems),
    serverTiming: readServerTimingSettings(env, problems),
    proxyRoutesFile: r.raw('PROXY_ROUTES_FILE'),
    chunkStoreDir: r.raw('CHUNK_STORE_DIR') === undefined ? undefined : path.resolve(r.raw('CHUNK_STORE_DIR') as string),
    maxSessionsPerUser: r.int('MAX_SESSIONS_PER_USER', 100, 1, 1_000_000),
    idempotencyMaxRecordsPerUser: r.int('IDEMPOTENCY_MAX_RECORDS_PER_USER', 1000, 1, 10_000_000),
    idempotencyMaxBytesPerUser: r.int('IDEMPOTENCY_MAX_BYTES_PER_USER', 32 * MIB, MIB, 1024 * 1024 * MIB),
    anchorPollIntervalMs: r.int('ANCHOR_POLL_INTERVAL_MS', 10_000, 100, 3_600_000),
    chainSyncIntervalMs: r.int('CHAIN_SYNC_INTERVAL_MS', 10_000, 0, 86_400_000),
    sessionRetentionDays: r.int('SESSION_RETENTION_DAYS', 30, 0, 36_500),
    upstreamHealthIntervalMs: r.int('UPSTREAM_HEALTH_INTERVAL_MS', 30_000, 100, 3_600_000),
    upstreamBreaker: {
      failureThreshold: r.int('UPSTREAM_BREAKER_FAILURES', 5, 1, 10_000),
      successThreshold: r.int('UPSTREAM_BREAKER_SUCCESSES', 2, 1, 10_000),
      openMs: r.int('UPSTREAM_BREAKER_OPEN_MS', 30_000, 100, 3_600_000),
      minimumRequests: r.int('UPSTREAM_BREAKER_MIN_REQUESTS', 0, 0, 1_000_000),
      halfOpenMaxProbes: r.int('UPSTREAM_BREAKER_HALF_OPEN_PROBES', 1, 1, 1_000)
    },
    upstreams: {
      blockchainCoreUrl: r.raw('BLOCKCHAIN_CORE_URL') ?? 'http://lucid-blocks:8084',
      tronPaymentUrl: r.raw('TRON_PAYMENT_URL') ?? 'http://tron-payment:8087',
      nodeServiceUrl: r.raw('NODE_SERVICE_URL') ?? 'http://node-management:8095',
      connectTimeoutMs: r.int('UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 1, 600_000),
      timeoutMs: r.int('UPSTREAM_TIMEOUT_MS', 30_000, 1, 3_600_000),
      blockchainCoreTimeoutMs: r.int('BLOCKCHAIN_CORE_TIMEOUT_MS', 60_000, 1, 3_600_000),
      tronPaymentTimeoutMs: r.int('TRON_PAYMENT_TIMEOUT_MS', 60_000, 1, 3_600_000),
      nodeServiceTimeoutMs: r.int('NODE_SERVICE_TIMEOUT_MS', 30_000, 1, 3_600_000)
    }
  }
  for (const [name, list] of [
    ['BLOCKCHAIN_CORE_URL', config.upstreams.blockchainCoreUrl],
    ['TRON_PAYMENT_URL', config.upstreams.tronPaymentUrl],
    ['NODE_SERVICE_URL', config.upstreams.nodeServiceUrl]
  ] as const) {
    for (const u of list.split(',')) {
      try {
        const parsed = new URL(u.trim())
        if (!['http:', 'https:'].includes(parsed.protocol)) problems.push(`${name} must use http: or https:`)
      } catch {
        problems.push(`${name} entry "${u}" is not a valid URL`)
      }
    }
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** Names of settings whose values must never be printed. */
export const SECRET_SETTINGS = [
  'JWT_SECRET_KEY', 'JWT_PREVIOUS_SECRET_KEYS', 'JWT_SIGNING_KEY', 'IDENTITY_SIGNING_KEY', 'DATA_ENCRYPTION_KEY',
  'DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'METRICS_TOKEN',
  'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'SERVER_TIMING_SECRET'
]

export function freezeConfig(config: Config): Readonly<Config> {
  const deepFreeze = (o: object): void => {
    for (const v of Object.values(o)) if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !Object.isFrozen(v)) deepFreeze(v)
    Object.freeze(o)
  }
  deepFreeze(config)
  return config
}
