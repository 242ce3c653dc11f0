/**
 * Tiers and route rules (CONTRACT.md section 5). A request must be admitted by its tier and by
 * every matching rule. Operators add rules with RATE_LIMIT_RULES (JSON text or a file path):
 * `[{"name":"exports","path":"/api/v1/search/*","methods":["POST"],"key":"user","limit":30,"period_s":60,"burst":5}]`.
 */
import { readFileSync } from 'node:fs'
import type { RuleSpec } from './gcra.js'

export interface RouteRule extends RuleSpec {
  pattern: string
  path: RegExp
  methods?: string[]
  key: 'ip' | 'user'
}

export interface TierLimits {
  public: number
  authenticated: number
  nodeOperator: number
  admin: number
}

const MINUTE = 60_000

/** `*` matches any run of characters; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`
  )
}

/** Built-in rules: `/chain/blocks*` per user, and one `auth` bucket per IP for challenge/login/verify. */
export function defaultRules(limits: { chainBlocks: number; auth: number }): RouteRule[] {
  return [
    {
      name: 'chain_blocks',
      pattern: '/api/v1/chain/blocks*',
      path: globToRegExp('/api/v1/chain/blocks*'),
      key: 'user',
      limit: limits.chainBlocks,
      periodMs: MINUTE,
      burst: limits.chainBlocks
    },
    {
      name: 'auth',
      pattern: '/api/v1/auth/(challenge|login|verify)',
      path: /^\/api\/v1\/auth\/(challenge|login|verify)$/,
      methods: ['POST'],
      key: 'ip',
      limit: limits.auth,
      periodMs: MINUTE,
      burst: limits.auth
    }
  ]
}

export function tierRule(limits: TierLimits, role: string | undefined): RuleSpec {
  switch (role) {
    case undefined:
      return { name: 'public', limit: limits.public, periodMs: MINUTE, burst: limits.public }
    case 'node_operator':
      return { name: 'node_operator', limit: limits.nodeOperator, periodMs: MINUTE, burst: limits.nodeOperator }
    case 'admin':
    case 'super_admin':
      return { name: 'admin', limit: limits.admin, periodMs: MINUTE, burst: limits.admin }
    default:
      return { name: 'authenticated', limit: limits.authenticated, periodMs: MINUTE, burst: limits.authenticated }
  }
}

/** Parses RATE_LIMIT_RULES; every problem is pushed with the variable's name. */
export function parseRules(value: string | undefined, problems: string[]): RouteRule[] {
  if (value === undefined) return []
  let text = value
  if (!value.trimStart().startsWith('[')) {
    try {
      text = readFileSync(value, 'utf8')
    } catch {
      problems.push(`RATE_LIMIT_RULES is neither a JSON array nor a readable file: ${value}`)
      return []
    }
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    problems.push('RATE_LIMIT_RULES is not valid JSON')
    return []
  }
  if (!Array.isArray(raw)) {
    problems.push('RATE_LIMIT_RULES must be a JSON array of rules')
    return []
  }
  const out: RouteRule[] = []
  raw.forEach((r: Record<string, unknown>, i) => {
    const at = `RATE_LIMIT_RULES[${i}]`
    const name = r?.name
    const limit = r?.limit
    const period = r?.period_s ?? 60
    const burst = r?.burst ?? limit
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]{0,40}$/.test(name))
      problems.push(`${at}.name must match [a-z][a-z0-9_]*`)
    if (typeof r?.path !== 'string' || !r.path.startsWith('/'))
      problems.push(`${at}.path must be a path pattern starting with /`)
    if (r?.key !== 'ip' && r?.key !== 'user') problems.push(`${at}.key must be "ip" or "user"`)
    if (!Number.isInteger(limit) || (limit as number) < 1) problems.push(`${at}.limit must be a positive integer`)
    if (!Number.isInteger(period) || (period as number) < 1) problems.push(`${at}.period_s must be a positive integer`)
    if (!Number.isInteger(burst) || (burst as number) < 1) problems.push(`${at}.burst must be a positive integer`)
    if (r?.methods !== undefined && (!Array.isArray(r.methods) || !r.methods.every((m) => typeof m === 'string')))
      problems.push(`${at}.methods must be an array of HTTP methods`)
    if (
      typeof name === 'string' &&
      typeof r?.path === 'string' &&
      Number.isInteger(limit) &&
      (r.key === 'ip' || r.key === 'user')
    ) {
      out.push({
        name,
        pattern: r.path,
        path: globToRegExp(r.path),
        methods: (r.methods as string[] | undefined)?.map((m) => m.toUpperCase()),
        key: r.key,
        limit: limit as number,
        periodMs: (period as number) * 1000,
        burst: burst as number
      })
    }
  })
  return out
}

export function matchingRules(rules: RouteRule[], method: string, path: string): RouteRule[] {
  return rules.filter((r) => (r.methods === undefined || r.methods.includes(method)) && r.path.test(path))
}
