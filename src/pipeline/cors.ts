/**
 * CORS (CONTRACT.md section 5) for @fastify/cors, which the pipeline registers right after the
 * trace stage so preflights are answered before admission, authentication or any limit.
 */
import type { FastifyCorsOptions } from '@fastify/cors'
import type { Config } from '../config.js'

const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'X-Request-ID',
  'X-API-Key',
  'Idempotency-Key',
  'X-Chunk-Index',
  'X-Chunk-SHA256',
  'traceparent',
  'tracestate'
]
const EXPOSED_HEADERS = [
  'X-Request-ID',
  'RateLimit',
  'RateLimit-Policy',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'Idempotent-Replayed',
  'ETag',
  'Server-Timing'
]

export function corsOptions(config: Readonly<Config>): FastifyCorsOptions {
  const allowed = new Set(config.corsOrigins === '*' ? [] : config.corsOrigins)
  return {
    // A function so that a disallowed origin disables CORS for that request entirely: no
    // Access-Control-Allow-* header at all, not even on a preflight.
    origin:
      config.corsOrigins === '*'
        ? '*'
        : (origin, cb) => cb(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: config.corsOrigins !== '*' && config.corsOrigins.length > 0,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders:
      config.serverTiming.mode === 'header' ? [...ALLOWED_HEADERS, config.serverTiming.header] : ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600
  }
}
