/** `config print`: the effective configuration with every secret masked. */
import type { Config } from '../config.js'

const SECRET_FIELDS = new Set(['jwtSecretKey', 'jwtPreviousSecretKeys', 'jwtSigningKey', 'identitySigningKey', 'dataEncryptionKey'])
const URL_FIELDS = new Set(['databaseUrl', 'redisUrl', 'smtpUrl'])

function maskUrl(v: string): string {
  try {
    const u = new URL(v)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '***'
  }
}

export function maskedConfig(config: Readonly<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue
    if (SECRET_FIELDS.has(k)) out[k] = Array.isArray(v) ? v.map(() => '***') : '***'
    else if (URL_FIELDS.has(k) && typeof v === 'string') out[k] = maskUrl(v)
    else out[k] = v
  }
  return out
}
