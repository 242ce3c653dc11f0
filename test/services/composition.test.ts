/**
 * The composition root builds services from plain dependencies, without a server (issue 16).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { migrate } from '../../src/data/migrate.js'
import { createUsersRepository } from '../../src/data/repositories/users.js'
import { createSessionsRepository } from '../../src/data/repositories/sessions.js'
import { createServices } from '../../src/services/index.js'
import { createTestDb } from '../helpers/stores.js'

test('createServices: anchor and volume services with their jobs, lucid_blocks not configured', async () => {
  const t = await createTestDb('embedded')
  try {
    await migrate(t.db)
    const sessions = createSessionsRepository(t.db)
    const warnings: string[] = []
    const { services, jobs } = createServices({
      db: t.db,
      repos: { sessions },
      upstreams: new Map(),
      config: { anchorPollIntervalMs: 5000, volumesRoot: '/nonexistent/volumes', dataDir: '/nonexistent', backupDir: '/nonexistent/backups' },
      now: Date.now,
      log: { warn: (_o, msg) => void warnings.push(msg) }
    })
    assert.deepEqual(jobs.map((j) => [j.name, j.everyMs]), [['anchor-poll', 5000], ['volume-usage', 300_000]])
    assert.equal(services.volumes.dirOf('chunks'), '/nonexistent/chunks', 'the chunk store is the system volume chunks')
    const user = (await createUsersRepository(t.db).createOrGet({ email: `${randomUUID()}@example.com`, role: 'user' })).user
    const s = await sessions.create({ session_id: randomUUID(), user_id: user.user_id, name: 's', description: null, max_size_bytes: 10, trust_policy_id: null, metadata: {} })
    const manifestId = randomUUID()
    await t.db.transaction((tx) => sessions.insertManifest({ manifest_id: manifestId, session_id: s.session_id, merkle_root: 'ab', chunk_count: 0, total_size: 0 }, tx))
    const m = await services.anchors.anchor((await sessions.manifestById(manifestId))!)
    assert.equal(m.anchor_status, 'pending', 'a pending anchor is kept for the job to retry')
    assert.equal(m.anchor_error, 'lucid_blocks unreachable')
    assert.equal(warnings.length, 1)
    await jobs[0].run(new AbortController().signal)
    assert.equal((await sessions.manifestById(manifestId))?.anchor_status, 'pending')
  } finally {
    await t.close()
  }
})
