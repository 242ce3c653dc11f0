/** The limiter's contract (limiter.ts implements it): decisions, options, the service surface. */
import type { Cluster, Redis } from 'ioredis'
import type { RuleCheck, RuleOutcome } from './gcra.js'

export type LimiterMode = 'redis' | 'memory' | 'degraded'
export type FailureMode = 'degrade' | 'open' | 'closed'

export interface Decision {
  outcomes: RuleOutcome[]
  allowed: boolean
  mode: LimiterMode
  /** Set when the failure mode decided instead of the limiter ('open' or 'closed'). */
  bypass?: 'open' | 'closed'
  /** A refusal repeated from the local denial cache, without a Redis call (denial-cache.ts). */
  cached?: true
}

export interface LimiterOptions {
  redis?: Redis | Cluster
  prefix: string
  /** Wall-clock ms a Redis reply may be overdue before Redis counts as failed (RATE_LIMIT_REDIS_TIMEOUT_MS). */
  deadlineMs: number
  failureMode: FailureMode
  /**
   * Where a key's local share starts in a degraded period (RATE_LIMIT_DEGRADED_START): `minimal`
   * (default) or `last-known` (the TAT Redis last reported to this instance).
   */
  degradedStart?: 'minimal' | 'last-known'
  /** Overrides the heartbeat-learnt instance count. */
  instanceCount?: number
  /** Microsecond clock; undefined means Redis server time (exact across instances). */
  nowUs?: () => number
  /** Longest a Redis refusal is repeated locally (RATE_LIMIT_DENIAL_CACHE_MS); 0 or unset: off. */
  denialCacheMs?: number
  log: { warn(o: object, m: string): void; info(o: object, m: string): void }
  onModeChange?: (mode: LimiterMode) => void
}

export interface Limiter {
  /** Decides one request against rules that all share one identity. */
  decide(identity: string, checks: RuleCheck[]): Promise<Decision>
  /** Bandwidth shaping: ms to wait before accepting `check.cost` more units (never refuses). */
  shape(identity: string, check: RuleCheck): Promise<number>
  /** How far ahead of now (ms) the identity's key for `rule` is: debt for bandwidth pre-checks. */
  debtMs(identity: string, ruleName: string): Promise<number>
  /** Limiter state of an identity (admin API). */
  inspect(identity: string, ruleNames: string[]): Promise<{ rule: string; tat_ahead_ms: number }[]>
  clear(identity: string, ruleNames: string[]): Promise<number>
  /** Identities with limiter state (admin API), at most `max`, from memory and Redis (SCAN). */
  identities(max: number): Promise<string[]>
  readonly mode: LimiterMode
  /** Live gateway processes sharing the limits (heartbeats), or RATE_LIMIT_INSTANCE_COUNT. */
  instances(): number
  /** Connects, joins the heartbeat set and starts watching Redis. */
  start(): Promise<void>
  stop(): Promise<void>
}
