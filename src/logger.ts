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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'api-gateway' },
    messageKey: 'msg',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) }
  }
}
