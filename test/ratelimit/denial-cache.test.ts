/**
 * The local denial cache (issue 15): a refusal Redis gave is repeated without a Redis call until
 * it can end, never longer (exactness), and never for a request Redis would admit.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { DenialCache } from '../../src/ratelimit/denial-cache.js'
import { createLimiter } from '../../src/ratelimit/limiter.js'
import { outcome, type RuleCheck } from '../../src/ratelimit/gcra.js'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

const quiet = { warn: () => undefined, info: () => undefined }
// 2 requests per 10 s, burst 2: T = 5 s.
const rule = { name: 'tight', limit: 2, periodMs: 10_000, burst: 2 }
const check: RuleCheck = { rule, key: rule.name, cost: 1 }
const S = 1_000_000

test('DenialCache: holds a refusal until the blocking rule can admit, capped, per request class', () => {
  const cache = new DenialCache(60_000)
  // Redis's view at send time 0: TAT 10 s ahead (bucket spent), so the next admission is at 5 s.
  cache.remember('ip:1', [check], [10 * S], 0)
  const at = (us: number) => cache.lookup('ip:1', [check], us)
  // What the limiter answers from a repeat: the outcome of the repeated TAT, as for Redis's reply.
  const repeated = (us: number) => outcome(check, at(us)![0], 0).out
  assert.equal(repeated(4.999 * S).retryAfterMs, 1, 'still refused just before 5 s, with the right Retry-After')
  assert.equal(repeated(0).remaining, 0)
  assert.deepEqual(at(2 * S), [8 * S], 'the TAT moves closer as time passes')
  assert.equal(at(5 * S), undefined, 'at 5 s the request goes to Redis again')
  assert.equal(cache.size, 0, 'the expired entry is gone')

  const capped = new DenialCache(1_000)
  capped.remember('ip:1', [check], [10 * S], 0)
  assert.ok(capped.lookup('ip:1', [check], 0.999 * S) !== undefined)
  assert.equal(capped.lookup('ip:1', [check], 1 * S), undefined, 'RATE_LIMIT_DENIAL_CACHE_MS bounds every entry')

  cache.remember('ip:1', [check], [10 * S], 0)
  assert.equal(cache.lookup('ip:1', [{ ...check, cost: 0.5 }], 1), undefined, 'another cost is another request class')
  assert.equal(cache.lookup('ip:1', [{ ...check, penalty: 2 }], 1), undefined, 'another penalty too')
  assert.equal(cache.lookup('ip:2', [check], 1), undefined)
  cache.forget('ip:1')
  assert.equal(cache.lookup('ip:1', [check], 1), undefined, 'forget drops the identity')

  const off = new DenialCache(0)
  off.remember('ip:1', [check], [10 * S], 0)
  assert.equal(off.size, 0, '0 turns the cache off')

  const small = new DenialCache(60_000, 3)
  for (let i = 0; i < 10; i++) small.remember(`k${i}`, [check], [10 * S], 0)
  assert.equal(small.size, 3, 'bounded')
  assert.ok(small.lookup('k9', [check], 1) !== undefined, 'the newest entries stay')
})

test('limiter on Redis: a refusal repeats from the cache until it ends, then Redis decides again', async (t) => {
  const url = process.env.REDIS_URL
  if (url === undefined) {
    if (process.env.CI === 'true') assert.fail('REDIS_URL must be set in CI')
    return t.skip('needs REDIS_URL (the cache only sits in front of Redis)')
  }
  const client = new Redis(url, { lazyConnect: false })
  let clock = 1_000 * S // the limiter's clock (µs); Redis uses the same one when it is injected
  const limiter = createLimiter({
    redis: client,
    prefix: `test:${randomUUID()}:`,
    deadlineMs: 1_000,
    failureMode: 'degrade',
    instanceCount: 1,
    nowUs: () => clock,
    denialCacheMs: 60_000,
    log: quiet
  })
  await limiter.start()
  t.after(async () => {
    await limiter.stop()
    client.disconnect()
  })
  const decide = () => limiter.decide('user:u1', [check])
  assert.equal((await decide()).allowed, true)
  assert.equal((await decide()).allowed, true)
  const first = await decide()
  assert.equal(first.allowed, false)
  assert.equal(first.cached, undefined, 'the first refusal is Redis’s')
  const again = await decide()
  assert.equal(again.allowed, false)
  assert.equal(again.cached, true, 'repeated without a Redis call')
  assert.deepEqual(
    again.outcomes.map((o) => [o.retryAfterMs, o.remaining, o.resetS]),
    first.outcomes.map((o) => [o.retryAfterMs, o.remaining, o.resetS]),
    'the same headers Redis’s answer gave'
  )
  clock += 4.999 * S
  assert.equal((await decide()).cached, true, 'just before the refusal ends')
  clock += 0.001 * S
  const later = await decide()
  assert.equal(later.allowed, true, 'at the very moment Redis would admit, the request goes to Redis and is admitted')
  assert.equal(later.cached, undefined)

  // A cleared identity (admin reset) is asked again at once.
  assert.equal((await decide()).allowed, false)
  assert.equal((await decide()).cached, true)
  await limiter.clear('user:u1', [rule.name])
  assert.equal((await decide()).allowed, true, 'after the reset Redis admits')
})

test('gateway: a flood over the limit costs Redis one call per window; headers and envelope unchanged', async (t) => {
  const app = await buildTestApp({
    env: {
      RATE_LIMIT_REDIS_TIMEOUT_MS: '1000',
      // Longer than the refusal (Retry-After ~30 s): a slow machine cannot end an entry early.
      RATE_LIMIT_DENIAL_CACHE_MS: '60000',
      RATE_LIMIT_RULES: JSON.stringify([
        { name: 'flood', path: '/api/v1/users/me', key: 'user', limit: 2, period_s: 60 }
      ])
    }
  })
  t.after(() => app.close())
  const li = await login(app.app)
  const get = () => app.app.inject({ url: '/api/v1/users/me', headers: li.auth })
  assert.equal((await get()).statusCode, 200)
  assert.equal((await get()).statusCode, 200)
  const refused = []
  for (let i = 0; i < 30; i++) refused.push(await get())
  assert.deepEqual(new Set(refused.map((r) => r.statusCode)), new Set([429]))
  for (const r of refused) {
    assert.equal(r.json().error.code, 'LUCID_ERR_3001')
    assert.equal(r.json().error.details.policy, 'flood')
    assert.ok(Number(r.headers['retry-after']) >= 29, `Retry-After ${r.headers['retry-after']}`)
    assert.equal(r.headers['x-ratelimit-remaining'], '0')
  }
  const metrics = (await app.app.inject({ url: '/metrics' })).body
  const cached = Number(/^rate_limit_cached_denials_total (\d+)/m.exec(metrics)?.[1])
  assert.match(metrics, /rate_limit_decisions_total\{policy="flood",result="limited"\} 30\b/, 'every refusal counted')
  if (process.env.REDIS_URL !== undefined) {
    // Sent one after another: only the first refusal is Redis's.
    assert.equal(cached, 29, `only the first of the 30 refusals reached Redis (${30 - cached} did)`)
    const later = await get()
    assert.equal(later.statusCode, 429)
    assert.equal(
      Number(/^rate_limit_cached_denials_total (\d+)/m.exec((await app.app.inject({ url: '/metrics' })).body)?.[1]),
      cached + 1
    )
  } else {
    assert.equal(cached, 0, 'the in-process limiter needs no cache')
  }
})
