/**
 * pino options shared by the server and the CLI. Anything that can carry a credential is
 * redacted (issue 2, item 7): tokens, signatures, codes, cookies, API keys.
 */
import type { LoggerOptions } from 'pino'

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.signature',
  '*.code',
  '*.totp_code',
  '*.secret',
  '*.password',
  '*.api_key',
  'access_token',
  'refresh_token',
  'token',
  'signature',
  'totp_code',
  'secret'
]

// The ISO date up to the second, rebuilt once a second: `new Date().toISOString()` on every line
// was a measurable part of the access line's cost (issue 15). Same output, to the millisecond.
let second = -1
let upToSecond = ''
function isoTime(): string {
  const ms = Date.now()
  const s = Math.floor(ms / 1000)
  if (s !== second) {
    second = s
    upToSecond = new Date(s * 1000).toISOString().slice(0, 19)
  }
  const frac = ms - s * 1000
  return `,"time":"${upToSecond}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z"`
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'api-gateway' },
    messageKey: 'msg',
    timestamp: isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) }
  }
}
