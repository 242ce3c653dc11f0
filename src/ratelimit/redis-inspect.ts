/**
 * Reads of the limiter's state in Redis for the admin API (`GET/DELETE /api/v1/cache/rate-limits`):
 * which identities have keys, and how far a key's TAT is ahead. Never on the request path.
 */
import { withTimeout, type GcraRedis } from './redis-gcra.js'

/** The identity inside a limiter key (`<prefix>rl:{<identity>}:<rule>`), or undefined. */
export const identityOfKey = (k: string): string | undefined => /rl:\{([^}]+)\}:/.exec(k)?.[1]

/** Adds the identities with limiter keys in Redis (SCAN on every master) to `out`, up to `max` in all. */
export async function scanIdentities(
  redis: GcraRedis,
  prefix: string,
  out: Set<string>,
  max: number,
  timeoutMs: number
): Promise<void> {
  type Scanning = { scan(...a: (string | number)[]): Promise<[string, string[]]> }
  const nodes = (redis as unknown as { nodes?: (role: string) => GcraRedis[] }).nodes?.('master') ?? [redis]
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}rl:{*`
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await withTimeout(
        (node as unknown as Scanning).scan(cursor, 'MATCH', pattern, 'COUNT', 500),
        timeoutMs
      )
      for (const k of keys) {
        const id = identityOfKey(k)
        if (id !== undefined) out.add(id)
      }
      cursor = next
    } while (cursor !== '0' && out.size < max)
  }
}

/** How far (µs) a key's TAT is ahead of now, by Redis's clock unless one is injected; 0 when absent. */
export async function readTatAhead(redis: GcraRedis, key: string, nowUs: (() => number) | undefined): Promise<number> {
  const [v, t] = await Promise.all([redis.get(key), redis.time()])
  return v === null ? 0 : Number(v) - (nowUs?.() ?? Number(t[0]) * 1e6 + Number(t[1]))
}
