import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  AdmissionRefused,
  createAdmission,
  type AdmissionTicket,
  type QueuedAdmission
} from '../../src/admission/admission.js'
import { clientKey } from '../../src/admission/client-key.js'
import { createOverloadDetector } from '../../src/admission/overload.js'

const isTicket = (r: AdmissionTicket | QueuedAdmission): r is AdmissionTicket => 'release' in r

test('beyond its share a client queues in order, a freed slot goes to its next waiter; the cap refuses', async () => {
  const a = createAdmission({ maxInFlight: 3, maxPerClient: 2, maxQueuedPerClient: 2, queueTimeoutMs: 5_000 })
  const t1 = a.admit('A')
  const t2 = a.admit('A')
  assert.ok(isTicket(t1) && isTicket(t2))
  const q1 = a.admit('A')
  const q2 = a.admit('A')
  assert.ok(!isTicket(q1) && !isTicket(q2))
  assert.throws(
    () => a.admit('A'),
    (e: unknown) => e instanceof AdmissionRefused && e.reason === 'client_queue_full' && e.status === 429
  )
  const tB = a.admit('B')
  assert.ok(isTicket(tB))
  assert.throws(
    () => a.admit('C'),
    (e: unknown) => e instanceof AdmissionRefused && e.reason === 'in_flight' && e.status === 503
  )
  assert.deepEqual(a.stats(), { inFlight: 3, queued: 2, clients: 2 })
  const order: number[] = []
  void q1.ticket.then(() => order.push(1))
  void q2.ticket.then(() => order.push(2))
  t1.release()
  t1.release() // idempotent
  await sleep(0)
  assert.deepEqual(order, [1])
  assert.deepEqual(a.stats(), { inFlight: 3, queued: 1, clients: 2 })
  t2.release()
  await sleep(0)
  assert.deepEqual(order, [1, 2])
})

test('a queued request that is cancelled or waits too long leaves the queue with a 429', async () => {
  const a = createAdmission({ maxInFlight: 0, maxPerClient: 1, queueTimeoutMs: 50 })
  const held = a.admit('A')
  assert.ok(isTicket(held))
  const timedOut = a.admit('A')
  const cancelled = a.admit('A')
  assert.ok(!isTicket(timedOut) && !isTicket(cancelled))
  cancelled.cancel()
  await assert.rejects(cancelled.ticket, (e: unknown) => e instanceof AdmissionRefused && e.status === 429)
  await assert.rejects(
    timedOut.ticket,
    (e: unknown) => e instanceof AdmissionRefused && e.reason === 'client_queue_timeout'
  )
  assert.equal(a.stats().queued, 0)
  held.release()
  assert.deepEqual(a.stats(), { inFlight: 0, queued: 0, clients: 0 })
})

test('an overloaded signal refuses with 503 before anything else', () => {
  let overloaded = true
  const a = createAdmission({ maxInFlight: 10, maxPerClient: 5, overloaded: () => overloaded })
  assert.throws(
    () => a.admit('A'),
    (e: unknown) => e instanceof AdmissionRefused && e.reason === 'overloaded' && e.status === 503
  )
  overloaded = false
  assert.ok(isTicket(a.admit('A')))
})

test('IPv6 clients count by /64; IPv4-mapped addresses are IPv4', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  assert.equal(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.equal(clientKey('::ffff:203.0.113.9'), '203.0.113.9')
  assert.equal(clientKey('203.0.113.9'), '203.0.113.9')
})

function busy(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // the loop gets no time
  }
}

test('the overload signal ignores a stall shorter than the sustain window and rises on a sustained one', async () => {
  const d = createOverloadDetector({ targetMs: 20, sustainMs: 300, sampleMs: 10 })
  d.start()
  try {
    busy(150)
    await sleep(30)
    assert.equal(d.overloaded(), false, 'one 150 ms stall is not overload')
    const lag = setInterval(() => busy(40), 1)
    await sleep(600)
    clearInterval(lag)
    assert.equal(d.overloaded(), true, 'lag above target for longer than the window is')
    await sleep(60)
    assert.equal(d.overloaded(), false, 'it ends with the first sample below target')
  } finally {
    d.stop()
  }
})
