import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CircuitBreaker } from '../../src/proxy/circuit-breaker.js'
import { RetryBudget } from '../../src/proxy/retry-budget.js'
import { checkProxyPath } from '../../src/proxy/path-safety.js'

test('breaker: opens after 5 consecutive failures, half-opens after 30 s, closes after 2 successes', () => {
  let now = 0
  const changes: string[] = []
  const b = new CircuitBreaker({ now: () => now, onStateChange: (from, to) => changes.push(`${from}->${to}`) })
  for (let i = 0; i < 4; i++) b.onFailure()
  b.onSuccess()
  for (let i = 0; i < 4; i++) b.onFailure()
  assert.equal(b.state, 'closed', 'a success resets the count: failures must be consecutive')
  b.onFailure()
  assert.equal(b.state, 'open')
  assert.equal(b.tryAcquire(), false)
  now = 29_999
  assert.equal(b.retryAfterMs(), 1)
  now = 30_000
  assert.equal(b.state, 'half_open')
  assert.equal(b.tryAcquire(), true)
  assert.equal(b.tryAcquire(), false, 'one probe at a time')
  b.onSuccess()
  assert.equal(b.tryAcquire(), true)
  b.onSuccess()
  assert.equal(b.state, 'closed')
  assert.deepEqual(changes, ['closed->open', 'open->half_open', 'half_open->closed'])
})

test('breaker: a failed probe opens it again; a minimum volume can be required', () => {
  let now = 0
  const b = new CircuitBreaker({ now: () => now, minimumRequests: 10 })
  for (let i = 0; i < 9; i++) b.onFailure()
  assert.equal(b.state, 'closed', 'below the minimum request volume')
  b.onFailure()
  assert.equal(b.state, 'open')
  now += 30_000
  assert.equal(b.tryAcquire(), true)
  b.onFailure()
  assert.equal(b.state, 'open')
  assert.equal(b.retryAfterMs(), 30_000)
})

test('retry budget: at most 20% of requests over the window, with a small floor', () => {
  let now = 0
  const budget = new RetryBudget(0.2, 10, 3, () => now)
  for (let i = 0; i < 10; i++) budget.recordRequest()
  const granted = Array.from({ length: 10 }, () => budget.tryRetry()).filter(Boolean).length
  assert.equal(granted, 3, 'floor of 3 (20% of 10 would be 2)')
  for (let i = 0; i < 90; i++) budget.recordRequest()
  assert.equal(Array.from({ length: 30 }, () => budget.tryRetry()).filter(Boolean).length, 17, 'up to 20 of 100 in all')
  now += 11_000
  budget.recordRequest()
  assert.equal(budget.tryRetry(), true, 'the window slides')
})

test('path safety refuses dot segments, encoded slashes and backslashes, and anything outside the prefix', () => {
  assert.deepEqual(checkProxyPath('/api/v1/chain/blocks/12?x=1', '/api/v1/chain'), {
    ok: true,
    path: '/api/v1/chain/blocks/12'
  })
  for (const bad of [
    '/api/v1/chain/../users',
    '/api/v1/chain/%2E%2e/x',
    '/api/v1/chain/a%2fb',
    '/api/v1/chain//x',
    '/api/v1/chain/a\\b',
    '/api/v1/chainx',
    '/api/v1/chain/%zz',
    '/api/v1/chain/.'
  ]) {
    assert.equal(checkProxyPath(bad, '/api/v1/chain').ok, false, bad)
  }
})
