/**
 * `config print`: the effective configuration under the environment variable names people set
 * (issue 13: it printed the camelCase fields of Config), with every secret masked.
 */
import type { Config } from '../config.js'

const SECRETS = new Set(['METRICS_TOKEN', 'JWT_SECRET_KEY', 'JWT_PREVIOUS_SECRET_KEYS', 'JWT_SIGNING_KEY', 'IDENTITY_SIGNING_KEY', 'DATA_ENCRYPTION_KEY'])
const URLS = new Set(['DATABASE_URL', 'REDIS_URL', 'SMTP_URL'])
/** Config groups whose fields' variables share a prefix (`rateLimit.public` → RATE_LIMIT_PUBLIC). */
const PREFIXES: Record<string, string> = { adminUi: 'ADMIN_UI_', rateLimit: 'RATE_LIMIT_', upstreamBreaker: 'UPSTREAM_BREAKER_', upstreams: '' }
/** Fields whose variable is not their name in SCREAMING_SNAKE_CASE. */
const NAMES: Record<string, string> = {
  environment: 'LUCID_ENV',
  'rateLimit.ipv6PrefixBits': 'RATE_LIMIT_IPV6_PREFIX',
  'upstreamBreaker.failureThreshold': 'UPSTREAM_BREAKER_FAILURES',
  'upstreamBreaker.successThreshold': 'UPSTREAM_BREAKER_SUCCESSES',
  'upstreamBreaker.minimumRequests': 'UPSTREAM_BREAKER_MIN_REQUESTS',
  'upstreamBreaker.halfOpenMaxProbes': 'UPSTREAM_BREAKER_HALF_OPEN_PROBES',
  'upstreams.connectTimeoutMs': 'UPSTREAM_CONNECT_TIMEOUT_MS',
  'upstreams.timeoutMs': 'UPSTREAM_TIMEOUT_MS'
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()

/** The environment variable a Config field (path such as `rateLimit.public`) is read from. */
export function envName(path: string): string {
  if (NAMES[path] !== undefined) return NAMES[path]
  const [group, field] = path.includes('.') ? path.split('.', 2) : [undefined, path]
  return group === undefined ? snake(field) : `${PREFIXES[group] ?? `${snake(group)}_`}${snake(field)}`
}

function maskUrl(v: string): string {
  try {
    const u = new URL(v)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '***'
  }
}

function printable(name: string, v: unknown): unknown {
  if (SECRETS.has(name)) return Array.isArray(v) ? v.map(() => '***') : '***'
  if (URLS.has(name) && typeof v === 'string') return maskUrl(v)
  return v
}

/** Tracing and Server-Timing settings under the OTEL_* / SERVER_TIMING* variables they come from. */
const TRACING_NAMES: Record<string, string> = {
  tracesUrl: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  serviceName: 'OTEL_SERVICE_NAME',
  sampler: 'OTEL_TRACES_SAMPLER',
  samplerRatio: 'OTEL_TRACES_SAMPLER_ARG',
  resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
  // Export headers carry collector credentials.
  headers: 'OTEL_EXPORTER_OTLP_HEADERS',
  exportTimeoutMs: 'OTEL_EXPORTER_OTLP_TIMEOUT',
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  scheduleDelayMs: 'OTEL_BSP_SCHEDULE_DELAY'
}
const SERVER_TIMING_NAMES: Record<string, string> = { mode: 'SERVER_TIMING', header: 'SERVER_TIMING_HEADER', secret: 'SERVER_TIMING_SECRET' }

function printTracing(out: Record<string, unknown>, t: Config['tracing'], st: Config['serverTiming'] | undefined): void {
  for (const [f, v] of Object.entries(t)) {
    if (v === undefined) continue
    const name = TRACING_NAMES[f] ?? `OTEL_${envName(f)}`
    if (f === 'headers') out[name] = Object.fromEntries(Object.keys(v as Record<string, string>).map((h) => [h, '***']))
    else out[name] = f === 'tracesUrl' ? maskUrl(v as string) : v
  }
  if (st === undefined) return
  for (const [f, v] of Object.entries(st)) if (v !== undefined) out[SERVER_TIMING_NAMES[f] ?? envName(f)] = f === 'secret' ? '***' : v
}

/** `{ HTTP_PORT: 8080, RATE_LIMIT_PUBLIC: 100, … }`: unset optional settings are left out. */
export function maskedConfig(config: Readonly<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue
    if (k === 'tracing') printTracing(out, v as Config['tracing'], config.serverTiming)
    else if (k === 'serverTiming') continue
    else if (PREFIXES[k] !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [f, fv] of Object.entries(v as Record<string, unknown>)) if (fv !== undefined) out[envName(`${k}.${f}`)] = printable(envName(`${k}.${f}`), fv)
    } else {
      out[envName(k)] = printable(envName(k), v)
    }
  }
  return out
}
