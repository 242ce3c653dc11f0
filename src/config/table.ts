/**
 * The configuration table: one entry per environment variable (name, parser, default, unit, doc,
 * secret), in `.env.example` order. The `Config` type, the loader, `.env.example` and
 * `config print` are derived from it; the rules across fields are in rules.ts beside it.
 * Each section is `// prettier-ignore`: one row per variable reads as the table it is.
 */
import path from 'node:path'
import { parseRules } from '../ratelimit/rules.js'
import { readServerTimingSettings, readTracingSettings } from '../tracing/settings.js'
import { bool, custom, int, list, oneOf, optionalInt, reader, str, url } from './builders.js'
import { section, type ConfigOf, type Raw } from './schema.js'
import {
  intOr,
  parseAdminUiPath,
  parseCorsOrigins,
  parseKey32,
  parseTrustProxy,
  parseUpstreamUrls,
  parseWorkers,
  type TrustProxy
} from './parsers.js'

const MIB = 1024 * 1024
const PER_MINUTE = { unit: 'requests/min' }
const dataDir = (raw: Raw) => raw('DATA_DIR') ?? './data'
const resolved = (v: string) => path.resolve(v)
const optionalPath = (env: string, doc: string) => custom<string | undefined>(env, 'path', undefined, resolved, doc)
const underDataDir = (env: string, dir: string, doc: string) =>
  custom(env, 'path', (raw) => path.resolve(dataDir(raw), dir), resolved, `${doc} (default DATA_DIR/${dir})`)

// prettier-ignore
const listeners = section('Listeners', {
  httpPort: int('HTTP_PORT', 8080, 0, 65535, 'plain HTTP port'),
  httpsPort: int('HTTPS_PORT', 8081, 0, 65535, 'HTTPS port, used when SSL_CERT_PATH and SSL_KEY_PATH are set'),
  host: str('HOST', '0.0.0.0', 'bind address'),
  sslCertPath: str('SSL_CERT_PATH', undefined, 'PEM certificate chain (set together with SSL_KEY_PATH)', { type: 'file path' }),
  sslKeyPath: str('SSL_KEY_PATH', undefined, 'PEM private key (reloaded with the certificate on SIGHUP)', { type: 'file path' }),
  httpRedirectToHttps: bool('HTTP_REDIRECT_TO_HTTPS', false, 'with TLS on, plain HTTP answers 308 to HTTPS (probes and /metrics excepted);\nneeds PUBLIC_URL or an ALLOWED_HOSTS list without * (the target never comes from a forged Host)'),
  workers: custom('WORKERS', '"auto" or int 1..64', 1, parseWorkers, 'worker processes (node:cluster), or "auto" = one per core; >1 needs DATABASE_URL and REDIS_URL', { unit: 'processes' }),
  backupDir: underDataDir('BACKUP_DIR', 'backups', 'where backups are written'),
  volumesRoot: underDataDir('VOLUMES_ROOT', 'volumes', 'root of named storage volumes'),
  keepAliveTimeoutMs: int('KEEP_ALIVE_TIMEOUT_MS', 72_000, 1_000, 600_000, 'above common load-balancer idle timeouts (60 s)'),
  // Slow headers hold a socket for nothing (issue 12): 10 s, checked every second (app.ts).
  headersTimeoutMs: int('HEADERS_TIMEOUT_MS', 10_000, 1_000, 600_000, 'time to receive request headers; slower clients get 408 (checked every second)'),
  requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 120_000, 1_000, 3_600_000, "time to receive a whole request (Node's own bound)"),
  requestBodyTimeoutMs: int('REQUEST_BODY_TIMEOUT_MS', 10_000, 100, 3_600_000, 'time allowed for a request body, plus 1 s per REQUEST_BODY_MIN_BYTES_PER_S received; then 408'),
  requestBodyMinBytesPerS: int('REQUEST_BODY_MIN_BYTES_PER_S', 1_024, 1, 1_073_741_824, 'minimum body rate beyond the base allowance'),
  shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000, 'drain budget on SIGTERM before a forced exit'),
  bodyLimitBytes: int('BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600, 'JSON body limit (1 MiB)')
})

// prettier-ignore
const storage = section('Storage', {
  dataDir: custom('DATA_DIR', 'path', (raw) => path.resolve(dataDir(raw)), resolved, 'embedded database, generated secrets, mail outbox, chunks', { shown: './data' }),
  databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:'], 'PostgreSQL; unset = embedded PGlite under DATA_DIR', { secret: true, example: 'postgres://user@host:5432/lucid' }),
  embeddedDbSharedBuffersMb: int('EMBEDDED_DB_SHARED_BUFFERS_MB', 16, 1, 4096, 'embedded mode: PostgreSQL buffer pool inside PGlite (most of its memory)'),
  databasePoolMax: int('DATABASE_POOL_MAX', 10, 1, 1000, 'pooled connections per instance', { unit: 'connections' }),
  databaseStatementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000, 'statement timeout of every pooled PostgreSQL connection'),
  redisUrl: url('REDIS_URL', ['redis:', 'rediss:'], 'shared state; unset = in-process (one instance only)', { secret: true, example: 'redis://host:6379' }),
  redisClusterNodes: list('REDIS_CLUSTER_NODES', [], 'host:port,host:port: use Redis Cluster instead of REDIS_URL', {
    check: (n) => (/^[A-Za-z0-9.-]+:\d{1,5}$/.test(n) ? undefined : 'must be host:port')
  }),
  stateKeyPrefix: str('STATE_KEY_PREFIX', 'lucid:', 'namespace of every Redis key'),
  redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 500, 1, 60_000, 'client-side deadline per Redis command'),
  chunkStoreDir: optionalPath('CHUNK_STORE_DIR', 'chunk bytes (default DATA_DIR/chunks); must be shared storage (ReadWriteMany) with several instances'),
  maxSessionsPerUser: int('MAX_SESSIONS_PER_USER', 100, 1, 1_000_000, 'recording sessions per user', { unit: 'sessions' }),
  idempotencyMaxRecordsPerUser: int('IDEMPOTENCY_MAX_RECORDS_PER_USER', 1000, 1, 10_000_000, 'Idempotency-Key records one user may create per 24 h (then 429/3001)', { unit: 'records' }),
  idempotencyMaxBytesPerUser: int('IDEMPOTENCY_MAX_BYTES_PER_USER', 32 * MIB, MIB, 1024 * 1024 * MIB, 'replayable response bytes one user may have stored per 24 h (32 MiB; then 429/3001)', { unit: 'bytes' }),
  sessionRetentionDays: int('SESSION_RETENTION_DAYS', 30, 0, 36_500, 'soft-deleted sessions keep their chunks this long'),
  authSessionRetentionDays: int('AUTH_SESSION_RETENTION_DAYS', 30, 1, 3650, 'expired/revoked login sessions are kept this long before deletion'),
  anchorPollIntervalMs: int('ANCHOR_POLL_INTERVAL_MS', 10_000, 100, 3_600_000, 'how often pending anchors are checked on lucid_blocks'),
  chainSyncIntervalMs: int('CHAIN_SYNC_INTERVAL_MS', 10_000, 0, 86_400_000, 'copy new lucid_blocks blocks/transactions into the local database (0 = off)')
})

// prettier-ignore
const keys = section('Keys (required with DATABASE_URL; generated under DATA_DIR in embedded mode)', {
  jwtSecretKey: str('JWT_SECRET_KEY', undefined, 'HS256 secret, at least 32 characters', {
    secret: true,
    check: (v) => (v.length < 32 ? 'must be at least 32 characters' : undefined)
  }),
  jwtPreviousSecretKeys: list('JWT_PREVIOUS_SECRET_KEYS', [], 'comma-separated rotated-out secrets, still verified', { secret: true }),
  dataEncryptionKey: custom('DATA_ENCRYPTION_KEY', '32 bytes, hex or base64', undefined, parseKey32, '32 bytes as 64 hex chars or base64; encrypts secrets at rest', { secret: true }),
  jwtAlgorithm: oneOf('JWT_ALGORITHM', ['HS256', 'EdDSA'], 'HS256', 'HS256, or EdDSA with JWT_SIGNING_KEY (tokens then verifiable via JWKS)'),
  jwtSigningKey: str('JWT_SIGNING_KEY', undefined, 'Ed25519 private key, PEM text or file path (EdDSA only)', { secret: true, type: 'PEM or file path' }),
  // Public keys: nothing to hide, and the dashboard shows which are still accepted.
  jwtPreviousPublicKeys: list('JWT_PREVIOUS_PUBLIC_KEYS', [], 'comma-separated PEM paths of rotated-out Ed25519 public keys'),
  identitySigningKey: str('IDENTITY_SIGNING_KEY', undefined, 'Ed25519 key (PEM or path) for X-Lucid-Identity; default: derived from DATA_ENCRYPTION_KEY', { secret: true, type: 'PEM or file path' })
})

// prettier-ignore
const identity = section('Identity', {
  accessTokenTtlS: int('ACCESS_TOKEN_TTL_S', 900, 30, 86_400, 'access token lifetime (15 min)'),
  refreshTokenTtlS: int('REFRESH_TOKEN_TTL_S', 604_800, 60, 31_536_000, 'refresh token lifetime (7 days)'),
  refreshReuseGraceS: int('REFRESH_REUSE_GRACE_S', 0, 0, 60, 'window in which a retried refresh gets the same new pair'),
  revocationPollMs: int('REVOCATION_POLL_MS', 1_000, 50, 60_000, 'how often each instance re-reads revocations and user changes from the database'),
  bootstrapSuperAdmins: list('BOOTSTRAP_SUPER_ADMINS', [], 'comma-separated TRON addresses made super_admin on first login\n(an existing account is not changed: `lucid-gateway grant-role ADDRESS super_admin`)', {
    check: (a) => (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(a) ? undefined : 'is not a TRON address')
  }),
  smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:'], 'unset = mail goes to DATA_DIR/outbox and the log', { secret: true, example: 'smtp://user:pass@mail:587' }),
  mailFrom: str('MAIL_FROM', 'Lucid <no-reply@lucid.local>', 'From: of every mail'),
  magicLinkUrl: str('MAGIC_LINK_URL', undefined, "default: the gateway's own page", { example: 'https://app.example/login?token={token}' }),
  magicLinkReturnUrl: url('MAGIC_LINK_RETURN_URL', ['http:', 'https:'], "the gateway's page signs in and sends the tokens there in the URL fragment\n(#access_token=…&refresh_token=…); unset: only to the app that opened it", { example: 'https://app.example/signed-in' }),
  publicUrl: url('PUBLIC_URL', ['http:', 'https:'], 'external base URL used in links', { example: 'https://api.example' })
})

// prettier-ignore
const hygiene = section('HTTP hygiene', {
  corsOrigins: custom<string[] | '*'>('CORS_ORIGINS', 'origin list or *', [], parseCorsOrigins, 'comma-separated origins, or * (then without credentials)', { example: 'https://app.example' }),
  allowedHosts: custom('ALLOWED_HOSTS', 'list', ['*'], (v) => v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean), 'comma-separated Host names (*.example allowed); * = any, so probes by pod IP work'),
  trustProxy: custom<TrustProxy>('TRUST_PROXY', 'boolean, hop count or CIDR list', false, parseTrustProxy, 'true, a hop count, or comma-separated proxy IPs/CIDRs'),
  logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'fatal|error|warn|info|debug|trace|silent'),
  docsEnabled: bool('DOCS_ENABLED', true, '/openapi.json and /docs'),
  /** The operator dashboard (issue 18). */
  adminUi: {
    enabled: bool('ADMIN_UI_ENABLED', true, 'the operator dashboard (admins and super_admins sign in there)'),
    path: custom('ADMIN_UI_PATH', 'path', '/admin', parseAdminUiPath, 'where the dashboard is served: lower-case path segments, not under /api, /docs or a probe')
  },
  environment: str('LUCID_ENV', 'production', 'reported by /api/v1/meta/info'),
  healthCacheMs: int('HEALTH_CACHE_MS', 2_000, 0, 60_000, 'meta/health result cache'),
  jobsEnabled: bool('JOBS_ENABLED', true, 'background job runner'),
  loadShedMaxEventLoopDelayMs: int('LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', 100, 0, 60_000, 'event-loop delay (queueing time) that counts as overload (0 = no overload shedding)'),
  loadShedSustainMs: int('LOAD_SHED_SUSTAIN_MS', 2_000, 0, 600_000, 'how long that delay must last before new requests get a fast 503 (bursts are served)'),
  loadShedMaxInFlight: int('LOAD_SHED_MAX_IN_FLIGHT', 384, 0, 1_000_000, 'requests in progress per process above which new ones get a fast 503 (0 = off)', { unit: 'requests' }),
  loadShedMaxInFlightPerClient: int('LOAD_SHED_MAX_IN_FLIGHT_PER_CLIENT', (raw) => Math.floor(intOr(raw('LOAD_SHED_MAX_IN_FLIGHT'), 384) / 4), 0, 1_000_000, 'requests in progress per client IP (IPv6: by RATE_LIMIT_IPV6_PREFIX); more queue (default LOAD_SHED_MAX_IN_FLIGHT ÷ 4)', { unit: 'requests' }),
  loadShedClientQueue: int('LOAD_SHED_CLIENT_QUEUE', 1_024, 0, 1_000_000, 'requests one client may have queued beyond its share; then 429', { unit: 'requests' }),
  loadShedQueueTimeoutMs: int('LOAD_SHED_QUEUE_TIMEOUT_MS', 10_000, 1, 600_000, "how long a queued request may wait for its client's slot; then 429"),
  listenBacklog: int('LISTEN_BACKLOG', 2048, 1, 65_535, "accept queue length (Node's default 511 overflows at ~1000 connecting clients; capped by net.core.somaxconn)", { unit: 'connections' })
})

// prettier-ignore
const tracing = section('Tracing (OpenTelemetry, standard OTEL_* variables; README "Tracing")', {
  /** Off while no OTLP endpoint is set; the reader (src/tracing/settings.ts) follows the OTel spec. */
  tracing: reader(readTracingSettings, [
    { env: 'OTEL_EXPORTER_OTLP_ENDPOINT', type: 'url (http: https:)', secret: true, example: 'http://otel-collector:4318', doc: 'OTLP/HTTP base URL (/v1/traces is appended); unset = tracing off, zero cost' },
    { env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', field: 'tracesUrl', type: 'url (http: https:)', secret: true, doc: 'full traces URL, used as given (wins over the base)' },
    { env: 'OTEL_EXPORTER_OTLP_HEADERS', field: 'headers', type: 'key=value list', secret: true, doc: 'key=value,… sent with each export, e.g. a collector API key (secret)' },
    { env: 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', type: 'key=value list', secret: true, doc: 'the same for traces only (wins over OTEL_EXPORTER_OTLP_HEADERS)' },
    { env: 'OTEL_EXPORTER_OTLP_PROTOCOL', field: 'protocol', type: 'http/protobuf|http/json', shown: 'http/protobuf', doc: 'OTLP/HTTP body encoding: http/protobuf (spec default, cheaper per span) or http/json; no grpc' },
    { env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', type: 'http/protobuf|http/json', doc: 'the same for traces only (wins over OTEL_EXPORTER_OTLP_PROTOCOL)' },
    { env: 'OTEL_SERVICE_NAME', field: 'serviceName', type: 'string', shown: 'lucid-api-gateway', doc: 'service.name of every span' },
    { env: 'OTEL_RESOURCE_ATTRIBUTES', field: 'resourceAttributes', type: 'key=value list', doc: 'key=value,… resource attributes (percent-encoded values), e.g. deployment.environment.name=staging' },
    { env: 'OTEL_TRACES_SAMPLER', field: 'sampler', type: 'enum', shown: 'parentbased_always_on', doc: 'always_on|always_off|traceidratio|parentbased_always_on|parentbased_always_off|parentbased_traceidratio' },
    { env: 'OTEL_TRACES_SAMPLER_ARG', field: 'samplerRatio', type: 'number 0..1', example: '1', doc: 'ratio 0–1 for the *traceidratio samplers' },
    { env: 'OTEL_EXPORTER_OTLP_TIMEOUT', field: 'exportTimeoutMs', type: 'int 1..600000', unit: 'ms', shown: '10000', doc: 'deadline of one export request' },
    { env: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', type: 'int 1..600000', unit: 'ms', doc: 'the same for traces only (wins over OTEL_EXPORTER_OTLP_TIMEOUT)' },
    { env: 'OTEL_BSP_MAX_QUEUE_SIZE', field: 'maxQueueSize', type: 'int 1..1000000', unit: 'spans', shown: '2048', doc: 'spans waiting for export; beyond it they are dropped and counted (otel_spans_dropped_total)' },
    { env: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', field: 'maxExportBatchSize', type: 'int 1..1000000', unit: 'spans', shown: '512', doc: 'spans per export request (at most OTEL_BSP_MAX_QUEUE_SIZE)' },
    { env: 'OTEL_BSP_SCHEDULE_DELAY', field: 'scheduleDelayMs', type: 'int 0..3600000', unit: 'ms', shown: '5000', doc: 'time between scheduled exports' },
    { env: 'TRACING_CONTEXT', field: 'context', type: 'async|explicit', shown: 'async', doc: 'async: AsyncLocalStorage, database and Redis calls are spans too; explicit: cheaper on Node 20, request, stage, upstream and job spans only' },
    { env: 'OTEL_SDK_DISABLED', type: 'boolean', example: 'false', doc: 'true turns tracing off even with an endpoint' },
    { env: 'OTEL_TRACES_EXPORTER', type: 'otlp|none', example: 'otlp', doc: 'none turns tracing off even with an endpoint' }
  ]),
  /** Server-Timing response header, off by default. */
  serverTiming: reader(readServerTimingSettings, [
    { env: 'SERVER_TIMING', field: 'mode', type: 'off|admin|header', shown: 'off', doc: "off|admin (admins' responses)|header (requests carrying SERVER_TIMING_HEADER: SERVER_TIMING_SECRET)" },
    { env: 'SERVER_TIMING_HEADER', field: 'header', type: 'header name', shown: 'x-lucid-server-timing', doc: 'request header that asks for Server-Timing in header mode (removed before proxying)' },
    { env: 'SERVER_TIMING_SECRET', field: 'secret', type: 'string', secret: true, doc: 'required in header mode, 16+ characters, compared in constant time (secret)' }
  ])
})

// prettier-ignore
const rateLimits = section('Rate limits (per minute)', {
  rateLimit: {
    enabled: bool('RATE_LIMIT_ENABLED', true, 'the rate limiter (tiers, route rules, bandwidth)'),
    public: int('RATE_LIMIT_PUBLIC', 100, 1, 10_000_000, 'per client IP', PER_MINUTE),
    authenticated: int('RATE_LIMIT_AUTHENTICATED', 1_000, 1, 10_000_000, 'per user', PER_MINUTE),
    nodeOperator: int('RATE_LIMIT_NODE_OPERATOR', 5_000, 1, 10_000_000, 'per user', PER_MINUTE),
    admin: int('RATE_LIMIT_ADMIN', 10_000, 1, 10_000_000, 'per user', PER_MINUTE),
    auth: int('RATE_LIMIT_AUTH', 10, 1, 10_000_000, 'POST /auth/challenge|login|verify, one bucket per IP', PER_MINUTE),
    ipv6PrefixBits: int('RATE_LIMIT_IPV6_PREFIX', 64, 1, 128, 'leading bits of an IPv6 address that make one client for per-IP limits', { unit: 'bits' }),
    chainBlocks: int('RATE_LIMIT_CHAIN_BLOCKS', 500, 1, 10_000_000, '/api/v1/chain/blocks* per user', PER_MINUTE),
    bandwidthBytesPerS: int('RATE_LIMIT_BANDWIDTH_BYTES_PER_S', 10 * MIB, 1024, 10 * 1024 * MIB, 'chunk uploads per user (10 MiB/s)'),
    failureMode: oneOf('RATE_LIMIT_FAILURE_MODE', ['degrade', 'open', 'closed'], 'degrade', 'degrade|open|closed when Redis is slow or down'),
    redisTimeoutMs: int('RATE_LIMIT_REDIS_TIMEOUT_MS', 200, 1, 10_000, 'how long a limiter reply may be overdue (wall clock, busy loop excluded) before Redis counts as failed'),
    /**
     * minimal: one request, then only the refill (at most one request per instance and identity
     * beyond the limit per outage); last-known: from the TAT this instance last got from Redis.
     */
    degradedStart: oneOf('RATE_LIMIT_DEGRADED_START', ['minimal', 'last-known'], 'minimal', "minimal|last-known: where a key's local share starts when Redis fails (minimal: ≤ 1 request per instance over)"),
    denialCacheMs: int('RATE_LIMIT_DENIAL_CACHE_MS', 1_000, 0, 60_000, "longest a Redis refusal is repeated locally without asking Redis again (never beyond its Retry-After; 0: off). Bounds how long another instance's admin reset takes to be seen"),
    instanceCount: optionalInt('RATE_LIMIT_INSTANCE_COUNT', 1, 10_000, 'fixed instance count for the degraded share (default: learnt from heartbeats)', { unit: 'instances' }),
    escalation: bool('RATE_LIMIT_ESCALATION', false, '3 limit hits in 10 min → half limits for 1 h (users only)'),
    rules: custom('RATE_LIMIT_RULES', 'json array or file path', [], (v, _name, problems) => parseRules(v, problems), 'extra rules: JSON array or file path, e.g.\n  [{"name":"search","path":"/api/v1/search/*","methods":["POST"],"key":"user","limit":30,"period_s":60,"burst":5}]')
  }
})

const upstreamUrl = (env: string, def: string, doc: string) =>
  custom(env, 'url list (http: https:)', def, parseUpstreamUrls, doc)

// prettier-ignore
const upstreams = section('Upstreams (comma-separated instances are balanced)', {
  upstreams: {
    blockchainCoreUrl: upstreamUrl('BLOCKCHAIN_CORE_URL', 'http://lucid-blocks:8084', 'lucid_blocks instances'),
    tronPaymentUrl: upstreamUrl('TRON_PAYMENT_URL', 'http://tron-payment:8087', 'tron-payment instances'),
    nodeServiceUrl: upstreamUrl('NODE_SERVICE_URL', 'http://node-management:8095', 'node-management instances'),
    connectTimeoutMs: int('UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 1, 600_000, 'TCP/TLS connect deadline to an upstream host'),
    timeoutMs: int('UPSTREAM_TIMEOUT_MS', 30_000, 1, 3_600_000, 'response deadline of a proxied request without its own'),
    blockchainCoreTimeoutMs: int('BLOCKCHAIN_CORE_TIMEOUT_MS', 60_000, 1, 3_600_000, 'response deadline of lucid_blocks'),
    tronPaymentTimeoutMs: int('TRON_PAYMENT_TIMEOUT_MS', 60_000, 1, 3_600_000, 'response deadline of tron-payment'),
    nodeServiceTimeoutMs: int('NODE_SERVICE_TIMEOUT_MS', 30_000, 1, 3_600_000, 'response deadline of node-management')
  },
  upstreamBreaker: {
    failureThreshold: int('UPSTREAM_BREAKER_FAILURES', 5, 1, 10_000, "consecutive failures (connect errors, timeouts, 5xx) that open a host's circuit"),
    openMs: int('UPSTREAM_BREAKER_OPEN_MS', 30_000, 100, 3_600_000, 'open → half-open after this long'),
    successThreshold: int('UPSTREAM_BREAKER_SUCCESSES', 2, 1, 10_000, 'half-open probes that must succeed to close'),
    halfOpenMaxProbes: int('UPSTREAM_BREAKER_HALF_OPEN_PROBES', 1, 1, 1_000, 'probes admitted at once while half-open'),
    minimumRequests: int('UPSTREAM_BREAKER_MIN_REQUESTS', 0, 0, 1_000_000, 'requests seen before a circuit may open')
  },
  upstreamHealthIntervalMs: int('UPSTREAM_HEALTH_INTERVAL_MS', 30_000, 100, 3_600_000, 'active health check of each upstream host (GET /health)'),
  proxyRoutesFile: str('PROXY_ROUTES_FILE', undefined, 'JSON {services:[{name,urls,timeoutMs,healthPath}], routes:[{prefix,upstream,rewritePrefix,readRole,writeRole,forwardAuthorization}]}\nreplacing or extending the proxy route table', { type: 'file path' })
})

// prettier-ignore
const metrics = section('/metrics access (issue 12): a bearer token, a separate listener, or both', {
  metricsToken: str('METRICS_TOKEN', undefined, '16-256 visible ASCII chars; scrapes send Authorization: Bearer <token> (compared in constant time)', {
    secret: true,
    check: (v) => (/^[\x21-\x7e]{16,256}$/.test(v) ? undefined : 'must be 16–256 visible ASCII characters')
  }),
  metricsPort: optionalInt('METRICS_PORT', 0, 65535, 'serve /metrics only on this port (the API port then answers 404 for it); unset/0 = API port', { zeroIsUnset: true }),
  metricsHost: str('METRICS_HOST', '127.0.0.1', 'bind address of the METRICS_PORT listener')
})

export const CONFIG_TABLE = {
  ...listeners,
  ...storage,
  ...keys,
  ...identity,
  ...hygiene,
  ...tracing,
  ...rateLimits,
  ...upstreams,
  ...metrics
}

/** The validated configuration: one field (or group) per table entry. */
export type Config = ConfigOf<typeof CONFIG_TABLE>
export type RateLimitFailureMode = Config['rateLimit']['failureMode']
export type { TrustProxy }
