import { test } from 'node:test'
import assert from 'node:assert/strict'
import { benchDisabledStages } from '../../src/pipeline/bench-switches.js'

test('BENCH_DISABLE_STAGES switches nothing off without BENCH_MODE=1', () => {
  assert.equal(benchDisabledStages({ BENCH_DISABLE_STAGES: 'headers,admission' }).size, 0)
  assert.equal(benchDisabledStages({ BENCH_DISABLE_STAGES: 'headers', BENCH_MODE: 'true' }).size, 0)
})

test('with BENCH_MODE=1 the named stages are off; an unknown name is a start-up error', () => {
  assert.deepEqual(
    [...benchDisabledStages({ BENCH_MODE: '1', BENCH_DISABLE_STAGES: ' headers , log ' })],
    ['headers', 'log']
  )
  assert.equal(benchDisabledStages({ BENCH_MODE: '1' }).size, 0)
  assert.throws(() => benchDisabledStages({ BENCH_MODE: '1', BENCH_DISABLE_STAGES: 'auth' }), /unknown stage\(s\) auth/)
})
