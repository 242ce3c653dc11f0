/**
 * What a person starting the gateway needs to read first (issue 13): where it answers (a URL that
 * works from this machine, not the address of whichever interface Fastify logs first), where the
 * docs are, which storage it uses and which upstreams it will call. No Fastify import.
 */
import type { Config } from './config.js'
import type { UpstreamService } from './proxy/route-table.js'

export interface BannerFacts {
  version: string
  database: 'embedded' | 'postgresql'
  state: 'memory' | 'redis' | string
  upstreams: readonly UpstreamService[]
  /** Environment variable → whether it was set (so a default upstream can be called out). */
  isSet(name: string): boolean
}

const UPSTREAM_SETTING: Record<string, string> = {
  lucid_blocks: 'BLOCKCHAIN_CORE_URL',
  tron_payment: 'TRON_PAYMENT_URL',
  node_management: 'NODE_SERVICE_URL'
}

/** `http://localhost:8080` for a wildcard bind, the bound host otherwise, PUBLIC_URL when set. */
export function localUrl(config: Pick<Config, 'host' | 'httpPort' | 'publicUrl'>, port = config.httpPort): string {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '')
  const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === ''
  const host = wildcard ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host
  return `http://${host}:${port}`
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host
  } catch {
    return 'configured'
  }
}

export function bannerLines(config: Readonly<Config>, facts: BannerFacts, port = config.httpPort): string[] {
  const url = localUrl(config, port)
  const wildcard = config.host === '0.0.0.0' || config.host === '::'
  const lines = [
    `Lucid API Gateway ${facts.version}`,
    `  listening  ${url}${wildcard ? ` (all interfaces, port ${port})` : ''}${config.sslCertPath !== undefined ? `, HTTPS on port ${config.httpsPort}` : ''}`,
    `  docs       ${config.docsEnabled ? `${url}/docs  (OpenAPI: ${url}/openapi.json)` : 'off (DOCS_ENABLED=false)'}`,
    `  health     ${url}/api/v1/meta/health`,
    `  database   ${facts.database === 'embedded' ? `embedded PGlite in ${config.dataDir} (one process; set DATABASE_URL for PostgreSQL)` : `PostgreSQL at ${hostOf(config.databaseUrl ?? '')}`}`,
    `  state      ${facts.state === 'redis' ? `Redis at ${hostOf(config.redisUrl ?? `redis://${config.redisClusterNodes[0] ?? ''}`)}` : 'in-process (one instance only; set REDIS_URL to share)'}`,
    `  mail       ${config.smtpUrl !== undefined ? `SMTP at ${hostOf(config.smtpUrl)}` : `no SMTP_URL: sign-in mail goes to ${config.dataDir}/outbox.jsonl`}`
  ]
  const unset: string[] = []
  for (const svc of facts.upstreams) {
    const setting = UPSTREAM_SETTING[svc.name]
    const fallback = setting !== undefined && !facts.isSet(setting)
    if (fallback) unset.push(setting)
    lines.push(
      `  upstream   ${svc.name.padEnd(16)} ${svc.urls.join(', ')}${fallback ? `  (default; set ${setting})` : ''}`
    )
  }
  if (unset.length > 0)
    lines.push(
      `  note       meta/health reports "degraded" until the upstreams answer (${unset.join(', ')}); \`npm run dev:stack\` starts local stand-ins`
    )
  return lines
}
