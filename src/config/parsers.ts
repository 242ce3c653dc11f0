/**
 * Parsers of the settings whose values are more than a number, a flag or a plain list. Each pushes
 * its problems naming the variable, so the loader reports them all at once.
 */
import { availableParallelism } from 'node:os'

export type TrustProxy = boolean | number | string[]

/** true, a hop count, or proxy IPs/CIDRs (the forms Fastify's trustProxy takes). */
export function parseTrustProxy(v: string, name: string, problems: string[]): TrustProxy {
  if (/^(false|0|no|off)$/i.test(v)) return false
  if (/^(true|yes|on)$/i.test(v)) return true
  if (/^\d+$/.test(v)) return Number(v)
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const p of parts) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p)) problems.push(`${name} entry "${p}" is not an IP address or CIDR`)
  }
  return parts
}

/** 32 bytes as 64 hex characters or base64 (DATA_ENCRYPTION_KEY). */
export function parseKey32(v: string, name: string, problems: string[]): Buffer | undefined {
  const buf = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64')
  if (buf.length !== 32) {
    problems.push(`${name} must be 32 bytes given as 64 hex characters or base64`)
    return undefined
  }
  return buf
}

/** `*` alone, or origins (scheme://host[:port], no path): an origin list never mixes in `*`. */
export function parseCorsOrigins(v: string, name: string, problems: string[]): string[] | '*' {
  const cors = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (cors.includes('*')) {
    if (cors.length > 1) problems.push(`${name} must be "*" alone or a list of origins`)
    return '*'
  }
  for (const o of cors) {
    try {
      if (new URL(o).origin !== o)
        problems.push(`${name} entry "${o}" must be an origin (scheme://host[:port]) without path`)
    } catch {
      problems.push(`${name} entry "${o}" is not a valid origin`)
    }
  }
  return cors
}

/** `auto` (one per core) or 1..64. */
export function parseWorkers(v: string, name: string, problems: string[]): number {
  if (v === 'auto') return Math.max(1, availableParallelism())
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return Number(v)
  problems.push(`${name} must be "auto" or an integer between 1 and 64, got "${v}"`)
  return 1
}

/** Its own path segment(s), and not one the gateway already answers (API, probes, docs, JWKS). */
export function parseAdminUiPath(v: string, name: string, problems: string[]): string {
  const p = v.replace(/\/+$/, '')
  if (!/^(\/[a-z0-9][a-z0-9_-]{0,40}){1,4}$/.test(p)) {
    problems.push(`${name} must be a path like /admin (segments of a-z, 0-9, _ and -), got "${p}"`)
  } else if (/^\/(api|docs|health|ready|metrics|openapi\.json|\.well-known)(\/|$)/.test(p)) {
    problems.push(`${name} must not be under a path the gateway already serves, got "${p}"`)
  }
  return p
}

/** Comma-separated http(s) instances of one upstream, balanced by the proxy. */
export function parseUpstreamUrls(v: string, name: string, problems: string[]): string {
  for (const u of v.split(',')) {
    try {
      const parsed = new URL(u.trim())
      if (!['http:', 'https:'].includes(parsed.protocol)) problems.push(`${name} must use http: or https:`)
    } catch {
      problems.push(`${name} entry "${u}" is not a valid URL`)
    }
  }
  return v
}

/** An integer as the int parser reads it, for defaults computed from another variable. */
export function intOr(v: string | undefined, def: number): number {
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : def
}
