/**
 * The limiter's side of Redis: the GCRA script (one atomic call per identity per decision) and
 * the limiter's own connection (limiter.ts says why it has one).
 */
import { Cluster, type Redis } from 'ioredis'
import { intervalUs, toleranceUs, type RuleCheck } from './gcra.js'

/** Reconnect interval of the limiter's own connection: instances come back within this of each other. */
const RECONNECT_MS = 100

/**
 * Lua that sets `now` (µs) from ARGV[arg], or from Redis's own clock when the caller sends 0: the
 * limiter's GCRA and merge scripts both start so.
 */
export const luaNow = (arg: number) => `local now = tonumber(ARGV[${arg}])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end`

// Mirrors gcra.ts `outcome` for every key; writes only when every rule admits (all-or-nothing).
// Returns, per key, the stored TAT minus now (µs), then the overall verdict.
export const GCRA_LUA = `
${luaNow(1)}
local mode = ARGV[2]
local n = #KEYS
local rel, newtat, all = {}, {}, 1
for i = 1, n do
  local T = tonumber(ARGV[3 + (i - 1) * 3])
  local bt = tonumber(ARGV[4 + (i - 1) * 3])
  local cost = tonumber(ARGV[5 + (i - 1) * 3])
  local v = redis.call('GET', KEYS[i])
  local tat = now
  if v then
    tat = tonumber(v)
    if tat < now then tat = now end
  end
  rel[i] = tat - now
  newtat[i] = tat + T * cost
  if mode == 'decide' and now < newtat[i] - bt then all = 0 end
end
if all == 1 then
  for i = 1, n do
    redis.call('SET', KEYS[i], string.format('%.0f', newtat[i]), 'PX', math.ceil((newtat[i] - now) / 1000) + 1000)
  end
end
rel[n + 1] = all
return rel`

/** KEYS then ARGV of one GCRA call: `now` (0: Redis TIME), the kind, then T, burst·T and cost per rule. */
export function gcraArgs(
  checks: RuleCheck[],
  keyOf: (c: RuleCheck) => string,
  kind: 'decide' | 'shape',
  nowUs: (() => number) | undefined
): (string | number)[] {
  const args: (string | number)[] = checks.map(keyOf)
  args.push(nowUs === undefined ? 0 : Math.round(nowUs()), kind)
  for (const c of checks) args.push(intervalUs(c.rule, c.penalty), toleranceUs(c.rule), c.cost)
  return args
}

export type GcraRedis = (Redis | Cluster) & {
  lucidGcra(numKeys: number, ...args: (string | number)[]): Promise<number[]>
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limiter: no answer within ${ms} ms`)), ms)
    })
  ])
}

/** The limiter's own connection: no client-side command timeout, a short fixed reconnect interval. */
export function ownConnection(client: Redis | Cluster): GcraRedis {
  const conn =
    client instanceof Cluster
      ? client.duplicate([], {
          redisOptions: { ...client.options.redisOptions, commandTimeout: undefined, connectionName: 'lucid-limiter' },
          clusterRetryStrategy: () => RECONNECT_MS
        })
      : client.duplicate({
          commandTimeout: undefined,
          retryStrategy: () => RECONNECT_MS,
          connectionName: 'lucid-limiter'
        })
  conn.on('error', () => undefined) // reported through the limiter's mode, not as unhandled events
  return conn as GcraRedis
}

/** Resolves once the connection is ready, or after `ms` (the caller then reads its status). */
export async function untilReady(redis: GcraRedis, ms: number): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    redis.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
