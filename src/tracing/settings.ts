/**
 * Tracing and Server-Timing settings (issue 17), read by src/config.ts from the standard
 * OpenTelemetry variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
 * so a deployment configures the gateway like any other OTel service. Every problem names its variable.
 */

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio'

/** OTLP/HTTP body encodings; gRPC is not spoken (the gateway ships no gRPC stack). */
export type OtlpProtocol = 'http/protobuf' | 'http/json'

/**
 * How a span reaches the code that makes its children (TRACING_CONTEXT):
 * - `async` (default): AsyncLocalStorage carries it through every await, so each database query
 *   and Redis command of the gateway's own routes and jobs is a child span, without any
 *   repository taking a context argument. On Node 20 it costs every async resource of the process
 *   a hook call (~0.5 µs each, ~80 per proxied request: BENCHMARKS.md, issue 17).
 * - `explicit`: no AsyncLocalStorage; the request pipeline, the upstream client and the job runner
 *   hand the context on by argument. Spans: SERVER, the auth/limit stages, one CLIENT per upstream
 *   attempt, jobs and their lucid_blocks calls — but no database or Redis spans.
 */
export type TracingContextMode = 'async' | 'explicit'

export interface TracingSettings {
  /** Full OTLP/HTTP traces URL; undefined turns tracing off (no spans are created at all). */
  tracesUrl?: string
  /**
   * Body encoding of the exports (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL;
   * default http/protobuf as the spec says): protobuf costs the gateway less CPU per span than JSON.
   */
  protocol: OtlpProtocol
  /** TRACING_CONTEXT, see TracingContextMode. */
  context: TracingContextMode
  /** `service.name` of the resource (OTEL_SERVICE_NAME, default "lucid-api-gateway"). */
  serviceName: string
  /** Default parentbased_always_on: a sampled incoming traceparent is honoured. */
  sampler: SamplerName
  /** Ratio in [0, 1] for the traceidratio samplers (default 1). */
  samplerRatio: number
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes: Record<string, string>
  /** Headers sent with every export, e.g. a collector's API key (OTEL_EXPORTER_OTLP_HEADERS; secret). */
  headers: Record<string, string>
  /** Deadline of one export request, ms (default 10000). */
  exportTimeoutMs: number
  /** Ended spans waiting for export; beyond it spans are dropped and counted (default 2048). */
  maxQueueSize: number
  /** Spans per export request (default 512, at most maxQueueSize). */
  maxExportBatchSize: number
  /** Delay between two scheduled exports, ms (default 5000). */
  scheduleDelayMs: number
}

export type ServerTimingMode = 'off' | 'admin' | 'header'

export interface ServerTimingSettings {
  /** off (default), admin (admins' responses only) or header (requests carrying the secret header). */
  mode: ServerTimingMode
  /** Lower-case request header that asks for Server-Timing in `header` mode. */
  header: string
  /** The value that header must carry (compared in constant time); required in `header` mode. */
  secret?: string
}

type Env = Record<string, string | undefined>

const SAMPLERS: SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio'
]
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Request headers that already mean something to the gateway cannot double as the timing switch.
const RESERVED_HEADERS = new Set([
  'authorization',
  'cookie',
  'x-api-key',
  'x-request-id',
  'traceparent',
  'tracestate',
  'host',
  'content-type',
  'content-length'
])

const raw = (env: Env, name: string): string | undefined => {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

/** `key=value,key2=value2` with percent-encoded values (W3C Baggage octets), as the spec defines both lists. */
export function parseKeyValueList(name: string, v: string | undefined, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  if (v === undefined) return out
  for (const part of v.split(',')) {
    const item = part.trim()
    if (item === '') continue
    const eq = item.indexOf('=')
    const key = eq < 0 ? '' : item.slice(0, eq).trim()
    if (eq < 0 || !TOKEN.test(key)) {
      problems.push(`${name} entry "${eq < 0 ? item : key}" must be key=value with a token as key`)
      continue
    }
    try {
      out[key] = decodeURIComponent(item.slice(eq + 1).trim())
    } catch {
      problems.push(`${name} value of "${key}" is not valid percent-encoding`)
    }
  }
  return out
}

function int(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const v = raw(env, name)
  if (v === undefined) return def
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    problems.push(`${name} must be an integer between ${min} and ${max}, got "${v}"`)
    return def
  }
  return Number(v)
}

/** The traces URL: the signal-specific variable as given, else the base endpoint + "/v1/traces" (spec). */
function tracesUrl(env: Env, problems: string[]): string | undefined {
  const specific = raw(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const base = raw(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')
  const name = specific !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  const given = specific ?? base
  if (given === undefined) return undefined
  let url: URL
  try {
    url = new URL(given)
  } catch {
    problems.push(`${name} is not a valid URL`)
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${name} must use http: or https: (OTLP/HTTP), got "${url.protocol}"`)
    return undefined
  }
  if (specific !== undefined) return url.toString()
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`
  return url.toString()
}

export function readTracingSettings(env: Env, problems: string[]): TracingSettings {
  let protocol: OtlpProtocol = 'http/protobuf'
  // The signal-specific variable wins; each one given is checked, so a typo in either is reported.
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const p = raw(env, name)
    if (p === undefined) continue
    if (p === 'http/protobuf' || p === 'http/json') protocol = p
    else problems.push(`${name} must be http/protobuf or http/json (OTLP/HTTP; gRPC is not supported), got "${p}"`)
  }
  const sdkDisabled = raw(env, 'OTEL_SDK_DISABLED')
  if (sdkDisabled !== undefined && !/^(true|false)$/i.test(sdkDisabled))
    problems.push(`OTEL_SDK_DISABLED must be true or false, got "${sdkDisabled}"`)
  const exporter = raw(env, 'OTEL_TRACES_EXPORTER')
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none')
    problems.push(`OTEL_TRACES_EXPORTER must be otlp or none, got "${exporter}"`)
  const off = /^true$/i.test(sdkDisabled ?? '') || exporter === 'none'

  const sampler = (raw(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on') as SamplerName
  if (!SAMPLERS.includes(sampler))
    problems.push(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}, got "${sampler}"`)
  let samplerRatio = 1
  const arg = raw(env, 'OTEL_TRACES_SAMPLER_ARG')
  // The spec ignores the argument for samplers that take none; so does the gateway.
  if (arg !== undefined && sampler.endsWith('traceidratio')) {
    samplerRatio = Number(arg)
    if (!/^\d*\.?\d+$/.test(arg) || samplerRatio < 0 || samplerRatio > 1) {
      problems.push(`OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got "${arg}"`)
      samplerRatio = 1
    }
  }
  const maxQueueSize = int(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000, problems)
  const maxExportBatchSize = int(
    env,
    'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
    Math.min(512, maxQueueSize),
    1,
    1_000_000,
    problems
  )
  if (maxExportBatchSize > maxQueueSize)
    problems.push('OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE')
  const timeoutName =
    raw(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
      : 'OTEL_EXPORTER_OTLP_TIMEOUT'
  const url = tracesUrl(env, problems)
  const contextMode = (raw(env, 'TRACING_CONTEXT') ?? 'async') as TracingContextMode
  if (contextMode !== 'async' && contextMode !== 'explicit')
    problems.push(`TRACING_CONTEXT must be async or explicit, got "${contextMode}"`)
  return {
    tracesUrl: off ? undefined : url,
    protocol,
    context: contextMode,
    serviceName: raw(env, 'OTEL_SERVICE_NAME') ?? 'lucid-api-gateway',
    sampler,
    samplerRatio,
    resourceAttributes: parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', raw(env, 'OTEL_RESOURCE_ATTRIBUTES'), problems),
    headers: parseKeyValueList(
      'OTEL_EXPORTER_OTLP_HEADERS',
      raw(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') ?? raw(env, 'OTEL_EXPORTER_OTLP_HEADERS'),
      problems
    ),
    exportTimeoutMs: int(env, timeoutName, 10_000, 1, 600_000, problems),
    maxQueueSize,
    maxExportBatchSize,
    scheduleDelayMs: int(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, 0, 3_600_000, problems)
  }
}

export function readServerTimingSettings(env: Env, problems: string[]): ServerTimingSettings {
  const mode = (raw(env, 'SERVER_TIMING') ?? 'off') as ServerTimingMode
  if (!['off', 'admin', 'header'].includes(mode))
    problems.push(`SERVER_TIMING must be off, admin or header, got "${mode}"`)
  const header = (raw(env, 'SERVER_TIMING_HEADER') ?? 'x-lucid-server-timing').toLowerCase()
  if (!TOKEN.test(header)) problems.push(`SERVER_TIMING_HEADER must be a header name, got "${header}"`)
  else if (RESERVED_HEADERS.has(header))
    problems.push(`SERVER_TIMING_HEADER must not be "${header}", which the gateway already reads`)
  const secret = raw(env, 'SERVER_TIMING_SECRET')
  // Timings tell an attacker which step a request spent time in (a user lookup, a cache miss):
  // in header mode the header is a credential, never a switch any client can flip.
  if (mode === 'header' && (secret === undefined || secret.length < 16))
    problems.push('SERVER_TIMING_SECRET (at least 16 characters) is required when SERVER_TIMING=header')
  return { mode, header, secret }
}
