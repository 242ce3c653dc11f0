import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryGcra, type RuleSpec } from '../../src/ratelimit/gcra.js'

const rule: RuleSpec = { name: 'r', limit: 10, periodMs: 60_000, burst: 10 }
const S = 1_000_000

test('a full burst is admitted at once, then exactly one request every period/limit', () => {
  const g = new MemoryGcra()
  const at = (s: number) => g.decide([{ rule, key: 'k', cost: 1 }], s * S)[0]
  for (let i = 0; i < 10; i++) assert.equal(at(0).allowed, true, `burst request ${i + 1}`)
  const denied = at(0)
  assert.equal(denied.allowed, false)
  assert.equal(denied.retryAfterMs, 6_000, 'retry after exactly one emission interval')
  assert.equal(at(5.999).allowed, false)
  assert.equal(at(6).allowed, true)
  assert.equal(at(6).allowed, false)
  assert.equal(at(12).remaining, 0)
})

test('no double burst at a window edge (unlike fixed windows)', () => {
  const g = new MemoryGcra()
  const at = (s: number) => g.decide([{ rule, key: 'k', cost: 1 }], s * S)[0].allowed
  let admitted = 0
  for (let i = 0; i < 10; i++) admitted += Number(at(59))
  for (let i = 0; i < 10; i++) admitted += Number(at(61))
  assert.equal(admitted, 10, 'a fixed window would have admitted 20 within two seconds')
})

test('burst smaller than the limit is honoured, and all rules must admit (all-or-nothing)', () => {
  const g = new MemoryGcra()
  const small: RuleSpec = { name: 'small', limit: 60, periodMs: 60_000, burst: 3 }
  const wide: RuleSpec = { name: 'wide', limit: 1000, periodMs: 60_000, burst: 1000 }
  const decide = () =>
    g.decide(
      [
        { rule: wide, key: 'w', cost: 1 },
        { rule: small, key: 's', cost: 1 }
      ],
      0
    )
  assert.ok(decide().every((o) => o.allowed))
  assert.ok(decide().every((o) => o.allowed))
  assert.ok(decide().every((o) => o.allowed))
  const refused = decide()
  assert.ok(refused.every((o) => !o.allowed))
  assert.equal(refused.find((o) => o.rule.name === 'small')?.retryAfterMs, 1_000)
  // The refused request consumed nothing from the wide rule.
  assert.equal(g.decide([{ rule: wide, key: 'w', cost: 1 }], 0)[0].remaining, 996)
})

test('shaping never refuses and returns the wait that keeps the rate', () => {
  const g = new MemoryGcra()
  const bw: RuleSpec = { name: 'bw', limit: 1_000_000, periodMs: 1_000, burst: 1_000_000 }
  assert.equal(g.shape({ rule: bw, key: 'b', cost: 1_000_000 }, 0), 0, 'the burst passes at once')
  assert.equal(g.shape({ rule: bw, key: 'b', cost: 500_000 }, 0), 500, 'half a second more at 1 MB/s')
})
