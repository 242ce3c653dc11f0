/**
 * The proxy route table is data (issue 5): defaults in code, replaced by PROXY_ROUTES_FILE
 * (JSON) when set. Each route maps a gateway prefix to an upstream service.
 */
import { readFileSync } from 'node:fs'
import type { Config } from '../config.js'
import type { Role } from '../crypto/tokens.js'

export interface UpstreamService {
  /** Service name: `aud` of X-Lucid-Identity, label of metrics, X-Upstream-Service. */
  name: string
  /** One or more base URLs, balanced round-robin among healthy hosts. */
  urls: string[]
  connectTimeoutMs: number
  timeoutMs: number
  healthPath: string
}

export interface ProxyRoute {
  prefix: string
  upstream: string
  /** Replaces `prefix` in the forwarded path (default: forwarded unchanged). */
  rewritePrefix?: string
  /** Minimum role for any method; `writeRole` for POST/PUT/PATCH/DELETE. */
  readRole: Role
  writeRole: Role
  /** Send the client's Authorization header upstream (off: upstreams get X-Lucid-Identity). */
  forwardAuthorization: boolean
  /** Relay the upstream's Set-Cookie to clients (default false; issue 12 finding 6). */
  allowSetCookie?: boolean
  timeoutMs?: number
}

export interface ProxyTable {
  services: UpstreamService[]
  routes: ProxyRoute[]
}

const splitUrls = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean)

export function defaultProxyTable(config: Readonly<Config>): ProxyTable {
  const u = config.upstreams
  const svc = (name: string, urls: string, timeoutMs: number): UpstreamService => ({
    name,
    urls: splitUrls(urls),
    connectTimeoutMs: u.connectTimeoutMs,
    timeoutMs,
    healthPath: '/health'
  })
  return {
    services: [
      svc('lucid_blocks', u.blockchainCoreUrl, u.blockchainCoreTimeoutMs),
      svc('tron_payment', u.tronPaymentUrl, u.tronPaymentTimeoutMs),
      svc('node_management', u.nodeServiceUrl, u.nodeServiceTimeoutMs)
    ],
    routes: [
      {
        prefix: '/api/v1/chain',
        upstream: 'lucid_blocks',
        readRole: 'user',
        writeRole: 'user',
        forwardAuthorization: false
      },
      {
        prefix: '/api/v1/wallets',
        upstream: 'tron_payment',
        readRole: 'user',
        writeRole: 'user',
        forwardAuthorization: false
      },
      {
        prefix: '/api/v1/nodes',
        upstream: 'node_management',
        readRole: 'user',
        writeRole: 'node_operator',
        forwardAuthorization: false
      }
    ]
  }
}

/** Reads PROXY_ROUTES_FILE: `{services?: [...], routes: [...]}` merged over the defaults by name/prefix. */
export function loadProxyTable(config: Readonly<Config>): ProxyTable {
  const table = defaultProxyTable(config)
  if (config.proxyRoutesFile === undefined) return table
  let raw: Partial<ProxyTable>
  try {
    raw = JSON.parse(readFileSync(config.proxyRoutesFile, 'utf8')) as Partial<ProxyTable>
  } catch (err) {
    throw new Error(`PROXY_ROUTES_FILE: ${(err as Error).message}`)
  }
  for (const s of raw.services ?? []) {
    const i = table.services.findIndex((x) => x.name === s.name)
    const merged = {
      ...(i >= 0
        ? table.services[i]
        : {
            connectTimeoutMs: config.upstreams.connectTimeoutMs,
            timeoutMs: config.upstreams.timeoutMs,
            healthPath: '/health'
          }),
      ...s,
      urls: (s.urls ?? []).map((x) => x.replace(/\/+$/, ''))
    } as UpstreamService
    if (!/^[a-z][a-z0-9_]*$/.test(merged.name) || merged.urls.length === 0)
      throw new Error(`PROXY_ROUTES_FILE: service "${s.name}" needs a name [a-z0-9_] and urls`)
    if (i >= 0) table.services[i] = merged
    else table.services.push(merged)
  }
  for (const r of raw.routes ?? []) {
    if (typeof r.prefix !== 'string' || !/^\/api\/v1\/[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(r.prefix))
      throw new Error(`PROXY_ROUTES_FILE: route prefix "${r.prefix}" must look like /api/v1/name`)
    if (r.allowSetCookie !== undefined && typeof r.allowSetCookie !== 'boolean') {
      throw new Error(`PROXY_ROUTES_FILE: route ${r.prefix} allowSetCookie must be true or false`)
    }
    if (!table.services.some((s) => s.name === r.upstream))
      throw new Error(`PROXY_ROUTES_FILE: route ${r.prefix} names unknown upstream "${r.upstream}"`)
    const i = table.routes.findIndex((x) => x.prefix === r.prefix)
    const defaults: Partial<ProxyRoute> = { readRole: 'user', writeRole: 'user', forwardAuthorization: false }
    const merged = { ...defaults, ...(i >= 0 ? table.routes[i] : {}), ...r } as ProxyRoute
    if (i >= 0) table.routes[i] = merged
    else table.routes.push(merged)
  }
  return table
}
