/**
 * Errors mapped once (issue 16): domain errors of the cores and real PostgreSQL unique violations
 * (both adapters) become the LucidError the envelope carries, in src/errors/domain.ts alone.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { LucidError } from '../../src/errors.js'
import { mapDomainError } from '../../src/errors/domain.js'
import { BackupError } from '../../src/backup/backup.js'
import { VolumeError } from '../../src/volumes/volumes.js'
import { UpstreamError } from '../../src/proxy/upstream-client.js'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'

const mapped = (err: unknown) => {
  const m = mapDomainError(err)
  assert.ok(m instanceof LucidError, `expected a LucidError, got ${String(m)}`)
  return m
}

test("upstream failures map to reply-from's taxonomy, naming the upstream; an open circuit says when to retry", () => {
  const cases = [
    ['unavailable', 503, 'LUCID_ERR_5008'],
    ['timeout', 504, 'LUCID_ERR_5006'],
    ['bad_response', 502, 'LUCID_ERR_5003'],
    ['circuit_open', 503, 'LUCID_ERR_5007']
  ] as const
  for (const [kind, status, code] of cases) {
    const m = mapped(new UpstreamError(kind, 'node_service', `node_service: ${kind}`, 2_500))
    assert.equal(m.statusCode, status, kind)
    assert.equal(m.code, code, kind)
    assert.deepEqual(m.details, { upstream: 'node_service' })
    assert.ok(m.cause instanceof UpstreamError)
    assert.deepEqual(m.headers, kind === 'circuit_open' ? { 'retry-after': '3' } : {})
  }
  // The message is the registry's generic one: the upstream's own text stays in the log (cause).
  assert.equal(
    mapped(new UpstreamError('timeout', 'x', 'secret detail')).message,
    new LucidError('UPSTREAM_TIMEOUT').message
  )
})

test('backup and volume errors map to their envelope codes', () => {
  assert.equal(mapped(new BackupError('NOT_FOUND', 'x')).code, 'LUCID_ERR_4001')
  const corrupt = mapped(new BackupError('CORRUPT', 'checksum mismatch'))
  assert.equal(corrupt.code, new LucidError('INVALID_REQUEST').code)
  assert.deepEqual(corrupt.details, { reason: 'corrupt' })
  assert.equal(mapped(new VolumeError('NOT_FOUND', 'no such volume')).statusCode, 404)
  assert.equal(mapped(new VolumeError('EXISTS', 'exists')).code, 'LUCID_ERR_4002')
  assert.equal(mapped(new VolumeError('IN_USE', 'in use')).code, 'LUCID_ERR_4007')
  assert.equal(mapped(new VolumeError('INVALID', 'bad')).code, new LucidError('INVALID_REQUEST').code)
})

test('anything else passes through unchanged', () => {
  const e = new Error('programmer error')
  assert.equal(mapDomainError(e), e)
  const l = new LucidError('NOT_FOUND')
  assert.equal(mapDomainError(l), l)
  assert.equal(mapDomainError('string'), 'string')
})

test('an unknown unique constraint is still a 409 without a field', () => {
  const m = mapped({ code: '23505', constraint: 'some_other_key', message: 'duplicate key' })
  assert.equal(m.statusCode, 409)
  assert.deepEqual(m.details, {})
})

for (const kind of dbKinds()) {
  describe(`unique violations on ${kind}`, () => {
    test('the constraint name picks the field; CREATE UNIQUE INDEX over duplicates names the index', async () => {
      const t = await createTestDb(kind)
      try {
        await migrate(t.db)
        const users = createUsersRepository(t.db)
        const email = `${randomUUID()}@example.com`
        await users.createOrGet({ email, role: 'user' })
        const err = await t.db
          .query('INSERT INTO users (user_id, email, role) VALUES ($1, $2, $3)', [randomUUID(), email, 'user'])
          .then(
            () => null,
            (e: unknown) => e
          )
        const m = mapped(err)
        assert.equal(m.code, 'LUCID_ERR_4002')
        assert.deepEqual(m.details, { field: 'email' })
        await t.db.query('CREATE TABLE dup (v int)')
        await t.db.query('INSERT INTO dup VALUES (1), (1)')
        const ix = await t.db.exec('CREATE UNIQUE INDEX dup_v ON dup (v)').then(
          () => null,
          (e: unknown) => e
        )
        const mi = mapped(ix)
        assert.equal(mi.statusCode, 409)
        assert.match(mi.message, /dup_v: duplicate values exist/)
      } finally {
        await t.close()
      }
    })
  })
}
