/**
 * Rules across fields, checked after every entry of the table has been read (each entry checks
 * only its own value). Each names the variables it is about; `.env.example` lists them all.
 */
import type { Config } from './table.js'
import type { Raw } from './schema.js'

export interface Rule {
  /** One line for `.env.example`. */
  doc: string
  /**
   * The problems (none when the configuration keeps the rule). Left out for a rule its reader
   * enforces while reading (tracing), listed here so every rule is in one place.
   */
  check?(c: Config, raw: Raw): (string | false)[]
}

export const RULES: Rule[] = [
  // Several instances may share this database: a secret generated per instance would split them.
  {
    doc: 'DATABASE_URL needs JWT_SECRET_KEY and DATA_ENCRYPTION_KEY (never generated per instance)',
    check: (c, raw) => [
      c.databaseUrl !== undefined &&
        c.jwtSecretKey === undefined &&
        'JWT_SECRET_KEY is required when DATABASE_URL is set',
      // The key's presence, not its parsed value: a malformed key is already its own problem.
      c.databaseUrl !== undefined &&
        raw('DATA_ENCRYPTION_KEY') === undefined &&
        'DATA_ENCRYPTION_KEY is required when DATABASE_URL is set'
    ]
  },
  {
    doc: 'JWT_ALGORITHM=EdDSA needs JWT_SIGNING_KEY',
    check: (c) => [
      c.jwtAlgorithm === 'EdDSA' &&
        c.jwtSigningKey === undefined &&
        'JWT_SIGNING_KEY (an Ed25519 private key, PEM or path) is required when JWT_ALGORITHM=EdDSA'
    ]
  },
  {
    doc: 'WORKERS above 1 needs DATABASE_URL and REDIS_URL (or REDIS_CLUSTER_NODES)',
    check: (c, raw) => [
      c.workers > 1 &&
        (raw('DATABASE_URL') === undefined ||
          (raw('REDIS_URL') === undefined && raw('REDIS_CLUSTER_NODES') === undefined)) &&
        `WORKERS=${raw('WORKERS')} runs several processes, which needs DATABASE_URL and REDIS_URL: embedded PGlite is single-process, and in-process rate limits and revocations would split between workers`
    ]
  },
  {
    doc: 'SSL_CERT_PATH and SSL_KEY_PATH are set together',
    check: (c) => [
      (c.sslCertPath === undefined) !== (c.sslKeyPath === undefined) &&
        'SSL_CERT_PATH and SSL_KEY_PATH must be set together'
    ]
  },
  {
    doc: 'HEADERS_TIMEOUT_MS ≤ REQUEST_TIMEOUT_MS',
    check: (c) => [c.headersTimeoutMs > c.requestTimeoutMs && 'HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS']
  },
  // Without PUBLIC_URL the redirect would name whatever host the client sent (issue 12 finding 10).
  {
    doc: 'HTTP_REDIRECT_TO_HTTPS (with TLS) needs PUBLIC_URL, or ALLOWED_HOSTS without *',
    check: (c) => [
      c.sslCertPath !== undefined &&
        c.httpRedirectToHttps &&
        c.publicUrl === undefined &&
        c.allowedHosts.includes('*') &&
        'HTTP_REDIRECT_TO_HTTPS needs PUBLIC_URL, or ALLOWED_HOSTS without "*": ' +
          "the redirect target would otherwise come from the client's Host header"
    ]
  },
  // Checked by the readers of src/tracing/settings.ts while reading.
  { doc: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE ≤ OTEL_BSP_MAX_QUEUE_SIZE (checked by the tracing reader)' },
  { doc: 'SERVER_TIMING=header needs SERVER_TIMING_SECRET, 16+ characters (checked by the Server-Timing reader)' }
]
