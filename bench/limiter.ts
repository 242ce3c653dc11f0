/**
 * Limiter micro-benchmark (issue 4): the latency one GCRA decision adds, with Redis on loopback
 * (one EVALSHA round trip) and in memory, measured sequentially so it is the per-request cost,
 * not throughput under load. Run: `node --import tsx bench/limiter.ts` (REDIS_URL for Redis).
 */
import { Redis } from 'ioredis'
import { createLimiter } from '../src/ratelimit/limiter.js'
import type { RuleSpec } from '../src/ratelimit/gcra.js'

const N = Number(process.env.BENCH_LIMITER_N ?? 5000)
const rule: RuleSpec = { name: 'authenticated', limit: 1_000_000, periodMs: 60_000, burst: 1_000_000 }
const log = { warn: () => undefined, info: () => undefined }

async function measure(label: string, redis?: Redis): Promise<string> {
  const limiter = createLimiter({
    redis,
    prefix: `bench-limiter:${Date.now()}:`,
    deadlineMs: 1_000,
    failureMode: 'degrade',
    log
  })
  const times: number[] = []
  for (let i = 0; i < N; i++) {
    const t0 = performance.now()
    await limiter.decide(`user:${i % 100}`, [{ rule, key: rule.name, cost: 1 }])
    times.push((performance.now() - t0) * 1000)
  }
  times.sort((a, b) => a - b)
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(0)
  return `| ${label} | ${N} | ${q(50)} | ${q(99)} | ${q(99.9)} |`
}

const rows = [await measure('in-process GCRA (standalone)')]
if (process.env.REDIS_URL) {
  const redis = new Redis(process.env.REDIS_URL)
  rows.push(await measure('Redis GCRA (Lua, loopback)', redis))
  redis.disconnect()
}
console.log(['| limiter | decisions | p50 µs | p99 µs | p99.9 µs |', '|---|---:|---:|---:|---:|', ...rows].join('\n'))
