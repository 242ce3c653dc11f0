/**
 * The limits in force and who is closest to them, for the operator dashboard (issue 18).
 * Limiter state is cluster-wide (Redis) when Redis is configured; the refusals counted by the
 * traffic history are this instance's. Inspecting costs one read per identity and rule, so only
 * the identities refused lately plus a bounded scan are inspected. No Fastify import.
 */
import type { Limiter } from '../ratelimit/limiter.js'
import type { RouteRule, TierLimits } from '../ratelimit/rules.js'
import { tierRule } from '../ratelimit/rules.js'
import type { RuleSpec } from '../ratelimit/gcra.js'

export interface LimitRuleView {
  name: string
  kind: 'tier' | 'rule'
  /** Path glob of a route rule; null for tiers (they apply to every limited route). */
  pattern: string | null
  methods: string[] | null
  key: 'ip' | 'user'
  limit: number
  period_s: number
  burst: number
}

export interface LimitedIdentity {
  identity: string
  /** Share of the fullest bucket in use, 0..1 (1 = the next request is refused). */
  usage: number
  rules: { rule: string; tat_ahead_ms: number; usage: number }[]
  /** 429s answered by this instance within the traffic window. */
  refused_recent: number
}

export interface LimitsOverviewDeps {
  limiter: Limiter
  enabled: boolean
  failureMode: string
  tiers: TierLimits
  rules: RouteRule[]
  bandwidth: RuleSpec
  /** Identities refused lately (this instance), most refused first. */
  recentlyRefused(): { identity: string; refused: number }[]
}

const TIER_ROLES = [undefined, 'user', 'node_operator', 'admin'] as const

export function createLimitsOverview(deps: LimitsOverviewDeps) {
  const tiers = TIER_ROLES.map((role) => tierRule(deps.tiers, role))
  const specs = new Map<string, RuleSpec>([...tiers, ...deps.rules, deps.bandwidth].map((r) => [r.name, r]))
  const names = [...specs.keys()]
  const usageOf = (rule: string, aheadMs: number) => {
    const r = specs.get(rule)
    if (r === undefined) return 0
    // The bucket holds `burst` requests, each worth period/limit of debt (GCRA tolerance).
    const toleranceMs = (r.burst * r.periodMs) / r.limit
    return Math.min(1, Math.round((aheadMs / toleranceMs) * 1000) / 1000)
  }

  async function inspect(identity: string, refused: number): Promise<LimitedIdentity> {
    const state = (await deps.limiter.inspect(identity, names)).filter((s) => s.tat_ahead_ms > 0)
    const rules = state.map((s) => ({ ...s, usage: usageOf(s.rule, s.tat_ahead_ms) }))
    return { identity, usage: Math.max(0, ...rules.map((r) => r.usage)), rules, refused_recent: refused }
  }

  return {
    rules(): LimitRuleView[] {
      const view = (r: RuleSpec, kind: 'tier' | 'rule', key: 'ip' | 'user', extra?: RouteRule): LimitRuleView => ({
        name: r.name,
        kind,
        pattern: extra?.pattern ?? null,
        methods: extra?.methods ?? null,
        key,
        limit: r.limit,
        period_s: r.periodMs / 1000,
        burst: r.burst
      })
      return [
        ...tiers.map((t) => view(t, 'tier', t.name === 'public' ? 'ip' : 'user')),
        ...deps.rules.map((r) => view(r, 'rule', r.key, r)),
        view(deps.bandwidth, 'rule', 'user', { ...deps.bandwidth, pattern: 'chunk uploads (bytes/s)' } as RouteRule)
      ]
    },
    /** The `top` identities closest to (or over) their limits now. */
    async mostLimited(top: number, scan: number): Promise<LimitedIdentity[]> {
      const refused = new Map(deps.recentlyRefused().map((r) => [r.identity, r.refused]))
      const candidates = new Set([...refused.keys()].slice(0, top))
      for (const id of await deps.limiter.identities(scan)) candidates.add(id)
      const seen = await Promise.all([...candidates].map((id) => inspect(id, refused.get(id) ?? 0)))
      return seen
        .filter((s) => s.usage > 0 || s.refused_recent > 0)
        .sort((a, b) => b.refused_recent - a.refused_recent || b.usage - a.usage)
        .slice(0, top)
    },
    status() {
      const { limiter, enabled, failureMode } = deps
      return { enabled, mode: limiter.mode, failure_mode: failureMode, instances: limiter.instances() }
    }
  }
}

export type LimitsOverview = ReturnType<typeof createLimitsOverview>
