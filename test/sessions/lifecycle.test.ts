import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, writeFile, mkdir, utimes } from 'node:fs/promises'
import path from 'node:path'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startLucidBlocks, type LucidBlocksStandIn } from '../support/stand-ins.js'
import { verifyProof } from '../../src/merkle/merkle.js'
import { buildApp } from '../../src/app.js'
import { TEMPORARY_MAX_AGE_MS } from '../../src/chunks/chunk-store.js'
import { testConfig } from '../helpers/app.js'
import { createTestDb, dbKinds } from '../helpers/stores.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

for (const kind of dbKinds())
  describe(`recording sessions on ${kind}: create → chunks → manifest → proofs → anchor`, () => {
    let t: TestApp
    let chain: LucidBlocksStandIn
    let owner: LoggedIn
    let other: LoggedIn
    before(async () => {
      chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
      t = await buildTestApp({
        db: await createTestDb(kind),
        env: { BLOCKCHAIN_CORE_URL: chain.url, ANCHOR_POLL_INTERVAL_MS: '100' }
      })
      owner = await login(t.app)
      other = await login(t.app)
    })
    after(async () => {
      await t.close()
      await t.testDb.close()
      await chain.close()
    })
    const create = (who: LoggedIn, body: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: who.auth, payload: body })
    const start = (who: LoggedIn, id: string) =>
      t.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/start`, headers: who.auth })
    const upload = (who: LoggedIn, id: string, index: number, bytes: Buffer, extra: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/sessions/${id}/chunks`,
        headers: { ...who.auth, 'content-type': 'application/octet-stream', 'x-chunk-index': String(index), ...extra },
        payload: bytes
      })

    test('full lifecycle with concurrent uploads, proofs verified by the standalone verifier, and anchoring', async () => {
      const created = await create(owner, { name: 'Support call', description: 'remote desktop with the billing team' })
      assert.equal(created.statusCode, 201)
      const s = created.json()
      assert.equal(s.status, 'initializing')
      assert.equal(s.max_size_bytes, 100 * 1024 ** 3)
      const chunks = Array.from({ length: 7 }, (_, i) => randomBytes(1000 + i * 777))
      const early = await upload(owner, s.session_id, 0, chunks[0])
      assert.equal(
        early.statusCode,
        409,
        'an initializing session takes no chunks (issue 13: it used to start silently)'
      )
      assert.equal(early.json().error.code, 'LUCID_ERR_4007')
      assert.match(early.json().error.message, /POST \/start first/)
      assert.equal(
        (await t.app.inject({ url: `/api/v1/sessions/${s.session_id}`, headers: owner.auth })).json().status,
        'initializing',
        'and it stays initializing'
      )
      assert.equal((await start(owner, s.session_id)).json().status, 'active')
      const first = await upload(owner, s.session_id, 0, chunks[0], { 'x-chunk-sha256': sha(chunks[0]) })
      assert.equal(first.statusCode, 201)
      assert.equal(first.json().hash, sha(chunks[0]))
      const rest = await Promise.all(chunks.slice(1).map((c, i) => upload(owner, s.session_id, i + 1, c)))
      assert.deepEqual(
        rest.map((r) => r.statusCode),
        [201, 201, 201, 201, 201, 201]
      )
      const again = await upload(owner, s.session_id, 3, chunks[3])
      assert.equal(again.statusCode, 200, 'same index, same bytes: idempotent')
      const clash = await upload(owner, s.session_id, 3, chunks[4])
      assert.equal(clash.statusCode, 409)
      const data = await t.app.inject({ url: `/api/v1/sessions/${s.session_id}/chunks/5/data`, headers: owner.auth })
      assert.equal(data.statusCode, 200)
      assert.deepEqual(data.rawPayload, chunks[5])
      assert.equal(data.headers.etag, `"${sha(chunks[5])}"`)
      assert.equal(Number(data.headers['content-length']), chunks[5].length)

      const done = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/sessions/${s.session_id}`,
        headers: owner.auth,
        payload: { status: 'completed' }
      })
      assert.equal(done.statusCode, 200)
      assert.equal(done.json().status, 'completed')
      assert.equal(typeof done.json().duration, 'number')
      const manifest = (
        await t.app.inject({ url: `/api/v1/sessions/${s.session_id}/manifest`, headers: owner.auth })
      ).json()
      assert.equal(manifest.chunk_count, 7)
      assert.equal(
        manifest.total_size,
        chunks.reduce((n, c) => n + c.length, 0)
      )
      for (let i = 0; i < 7; i++) {
        const proof = (
          await t.app.inject({
            url: `/api/v1/manifests/${manifest.manifest_id}/chunks/${i}/proof`,
            headers: owner.auth
          })
        ).json()
        assert.equal(proof.chunk_hash, sha(chunks[i]))
        assert.ok(verifyProof(sha(chunks[i]), proof, manifest.merkle_root), `proof of chunk ${i}`)
      }
      const verify = (
        await t.app.inject({ url: `/api/v1/manifests/${manifest.manifest_id}/verify`, headers: owner.auth })
      ).json()
      assert.equal(verify.valid, true)
      assert.equal(verify.computed_root, manifest.merkle_root)
      assert.equal((await upload(owner, s.session_id, 7, chunks[0])).statusCode, 409, 'no uploads after completion')

      // Anchoring while lucid_blocks is down stays pending, then goes through when it is back.
      chain.setHealthy(false, true)
      const pending = await t.app.inject({
        method: 'POST',
        url: `/api/v1/manifests/${manifest.manifest_id}/anchor`,
        headers: owner.auth
      })
      assert.equal(pending.statusCode, 202)
      assert.equal(pending.json().anchor.status, 'pending')
      assert.equal(pending.json().anchor.transaction_id, null)
      chain.setHealthy(true)
      // The anchor job (not the client) retries the submission.
      await new Promise((r) => setTimeout(r, 150))
      await t.app.jobs.tick()
      await t.app.jobs.idle()
      const submitted = (
        await t.app.inject({ url: `/api/v1/manifests/${manifest.manifest_id}/anchor`, headers: owner.auth })
      ).json()
      assert.ok(submitted.anchor.transaction_id, 'submitted by the anchor job once lucid_blocks is back')
      assert.equal(submitted.anchor.status, 'pending')
      const tx = chain.requests.filter((r) => r.method === 'POST' && r.url === '/api/v1/chain/transactions').pop()!
      assert.equal(tx.headers['idempotency-key'], `anchor-${manifest.manifest_id}`)
      assert.equal(JSON.parse(tx.body_text!).data.merkle_root, manifest.merkle_root)
      chain.mine()
      const confirmed = (
        await t.app.inject({
          url: `/api/v1/manifests/${manifest.manifest_id}/anchor?refresh=true`,
          headers: owner.auth
        })
      ).json()
      assert.equal(confirmed.anchor.status, 'confirmed')
      assert.equal(typeof confirmed.anchor.block_height, 'number')
    })

    test("another user's session, chunk or manifest is 404, never 403", async () => {
      const s = (await create(owner, { name: 'private' })).json()
      assert.equal(
        (await t.app.inject({ url: `/api/v1/sessions/${s.session_id}`, headers: other.auth })).statusCode,
        404
      )
      assert.equal((await upload(other, s.session_id, 0, Buffer.from('x'))).statusCode, 404)
      assert.equal(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${s.session_id}`, headers: other.auth }))
          .statusCode,
        404
      )
    })

    test('limits and validation: empty chunk 422, over 10 MiB 413/4006, bad hash 422 with nothing kept, session maximum 4005, illegal transitions 409/4007', async () => {
      const s = (await create(owner, { name: 'limits', max_size_bytes: 1024 * 1024 })).json()
      await start(owner, s.session_id)
      assert.equal((await upload(owner, s.session_id, 0, Buffer.alloc(0))).statusCode, 422)
      const big = await upload(owner, s.session_id, 0, Buffer.alloc(10 * 1024 * 1024 + 1))
      assert.equal(big.statusCode, 413)
      assert.equal(big.json().error.code, 'LUCID_ERR_4006')
      const bad = await upload(owner, s.session_id, 0, Buffer.from('abc'), { 'x-chunk-sha256': 'a'.repeat(64) })
      assert.equal(bad.statusCode, 422)
      assert.equal(
        (await t.app.inject({ url: `/api/v1/sessions/${s.session_id}/chunks`, headers: owner.auth })).json().pagination
          .total,
        0,
        'nothing kept'
      )
      assert.equal((await upload(owner, s.session_id, 0, Buffer.alloc(700 * 1024))).statusCode, 201)
      const over = await upload(owner, s.session_id, 1, Buffer.alloc(400 * 1024))
      assert.equal(over.json().error.code, 'LUCID_ERR_4005')
      const gap = await upload(owner, s.session_id, 2, Buffer.from('later'))
      assert.equal(gap.statusCode, 201)
      const incomplete = await t.app.inject({
        method: 'POST',
        url: '/api/v1/manifests',
        headers: owner.auth,
        payload: { session_id: s.session_id }
      })
      assert.equal(incomplete.statusCode, 409)
      assert.deepEqual(incomplete.json().error.details.missing_indexes, [1])
      const term = await t.app.inject({
        method: 'POST',
        url: `/api/v1/sessions/${s.session_id}/terminate`,
        headers: owner.auth,
        payload: { reason: 'user left' }
      })
      assert.equal(term.json().status, 'terminated')
      const restart = await t.app.inject({
        method: 'POST',
        url: `/api/v1/sessions/${s.session_id}/start`,
        headers: owner.auth
      })
      assert.equal(restart.statusCode, 409)
      assert.equal(restart.json().error.code, 'LUCID_ERR_4007')
      assert.equal((await create(owner, { name: 'x', max_size_bytes: 1000 })).statusCode, 422)
    })

    test('listing: own sessions only, full-text q, status filter, sort and pagination', async () => {
      const u = await login(t.app)
      for (const [name, description] of [
        ['alpha review', 'quarterly budget meeting'],
        ['beta', 'onboarding walkthrough'],
        ['gamma', 'budget follow-up']
      ])
        await create(u, { name, description })
      const list = (
        await t.app.inject({ url: '/api/v1/sessions?q=budget&sort=name&order=asc', headers: u.auth })
      ).json()
      assert.deepEqual(
        list.sessions.map((x: { name: string }) => x.name),
        ['alpha review', 'gamma']
      )
      const page = (await t.app.inject({ url: '/api/v1/sessions?limit=2&page=2', headers: u.auth })).json()
      assert.equal(page.pagination.total, 3)
      assert.equal(page.sessions.length, 1)
      assert.equal(
        (await t.app.inject({ url: `/api/v1/sessions?user_id=${owner.userId}`, headers: u.auth })).statusCode,
        403
      )
      assert.equal((await t.app.inject({ url: '/api/v1/sessions?sort=password', headers: u.auth })).statusCode, 422)
    })

    test('trust policies: CRUD, unique rule ids, policy_hash recomputed, a session may reference its owner’s policy only', async () => {
      const rules = [
        {
          rule_id: 'r1',
          type: 'allow',
          condition: 'user.role == "admin"',
          action: 'record',
          priority: 1,
          enabled: true
        }
      ]
      const p = await t.app.inject({
        method: 'POST',
        url: '/api/v1/trust/policies',
        headers: owner.auth,
        payload: { name: 'default', rules }
      })
      assert.equal(p.statusCode, 201)
      const policy = p.json()
      assert.match(policy.policy_hash, /^[0-9a-f]{64}$/)
      const dup = await t.app.inject({
        method: 'POST',
        url: '/api/v1/trust/policies',
        headers: owner.auth,
        payload: { name: 'dup', rules: [...rules, rules[0]] }
      })
      assert.equal(dup.statusCode, 422)
      const changed = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/trust/policies/${policy.policy_id}`,
        headers: owner.auth,
        payload: { name: 'default', rules: [{ ...rules[0], priority: 2 }] }
      })
      assert.notEqual(changed.json().policy_hash, policy.policy_hash)
      assert.equal(
        (await t.app.inject({ url: `/api/v1/trust/policies/${policy.policy_id}`, headers: other.auth })).statusCode,
        404
      )
      assert.equal((await create(owner, { name: 'with policy', trust_policy_id: policy.policy_id })).statusCode, 201)
      assert.equal((await create(other, { name: 'stolen policy', trust_policy_id: policy.policy_id })).statusCode, 422)
    })
  })

test('an upload killed mid-way leaves no chunk row and no stray file after restart', async () => {
  const t = await buildTestApp()
  try {
    const li = await login(t.app)
    const s = (
      await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: li.auth, payload: { name: 'crash' } })
    ).json()
    // What a process killed while streaming leaves behind: a temporary file, no row.
    const dir = path.join(t.dataDir, 'chunks', s.session_id.slice(0, 2), s.session_id)
    await mkdir(dir, { recursive: true })
    await writeFile(path.join(dir, '.tmp-killed-upload'), randomBytes(4096))
    // Untouched for longer than any upload in progress; a fresh one may be another instance's upload.
    const stale = new Date(Date.now() - TEMPORARY_MAX_AGE_MS - 60_000)
    await utimes(path.join(dir, '.tmp-killed-upload'), stale, stale)
    await writeFile(path.join(dir, '.tmp-in-progress'), randomBytes(16))
    const restarted = await buildApp(testConfig(t.dataDir), { db: t.testDb.db, stateStore: t.testStore.store })
    await restarted.ready()
    try {
      assert.deepEqual(
        await readdir(dir),
        ['.tmp-in-progress'],
        'the stale partial file is gone, an upload in progress is kept'
      )
      assert.equal(
        (await restarted.inject({ url: `/api/v1/sessions/${s.session_id}/chunks`, headers: li.auth })).json().pagination
          .total,
        0
      )
    } finally {
      await restarted.close()
    }
  } finally {
    await t.close()
  }
})

test('the retention job purges soft-deleted sessions and their chunk files, and only those', async () => {
  let clock = Date.now()
  const t = await buildTestApp({ now: () => clock, env: { SESSION_RETENTION_DAYS: '0' } })
  try {
    const li = await login(t.app)
    const mk = async (name: string) => {
      const s = (
        await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: li.auth, payload: { name } })
      ).json()
      await t.app.inject({ method: 'POST', url: `/api/v1/sessions/${s.session_id}/start`, headers: li.auth })
      await t.app.inject({
        method: 'POST',
        url: `/api/v1/sessions/${s.session_id}/chunks`,
        headers: { ...li.auth, 'content-type': 'application/octet-stream', 'x-chunk-index': '0' },
        payload: Buffer.from(name)
      })
      return s.session_id as string
    }
    const gone = await mk('to purge')
    const kept = await mk('to keep')
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${gone}`, headers: li.auth })).statusCode,
      204
    )
    assert.equal(
      (await t.app.inject({ url: `/api/v1/sessions/${gone}`, headers: li.auth })).statusCode,
      404,
      'soft-deleted sessions disappear from the API at once'
    )
    await t.app.db.query("UPDATE sessions SET deleted_at = now() - interval '1 day' WHERE session_id = $1", [gone])
    clock += 3_600_000
    await t.app.jobs.tick()
    await t.app.jobs.idle()
    const { rows } = await t.app.db.query<{ session_id: string }>(
      'SELECT session_id FROM sessions WHERE session_id = ANY($1::uuid[])',
      [[gone, kept]]
    )
    assert.deepEqual(
      rows.map((r) => r.session_id),
      [kept]
    )
    const base = path.join(t.dataDir, 'chunks')
    assert.deepEqual(
      await readdir(path.join(base, gone.slice(0, 2)))
        .catch(() => [])
        .then((l) => l.filter((x) => x === gone)),
      []
    )
    assert.deepEqual(await readdir(path.join(base, kept.slice(0, 2), kept)), ['00000000.chunk'])
  } finally {
    await t.close()
  }
})

test('a client that disconnects mid-upload leaves no row and no file', async () => {
  const t = await buildTestApp()
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (t.app.server.address() as { port: number }).port
    const li = await login(t.app)
    const s = (
      await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: li.auth, payload: { name: 'abort' } })
    ).json()
    await t.app.inject({ method: 'POST', url: `/api/v1/sessions/${s.session_id}/start`, headers: li.auth })
    const { request: httpRequest } = await import('node:http')
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/sessions/${s.session_id}/chunks`,
        headers: {
          ...li.auth,
          'content-type': 'application/octet-stream',
          'x-chunk-index': '0',
          'content-length': String(1024 * 1024)
        }
      })
      req.on('error', () => resolve())
      req.write(randomBytes(200 * 1024))
      setTimeout(() => {
        req.destroy()
        resolve()
      }, 200)
    })
    await new Promise((r) => setTimeout(r, 300))
    const dir = path.join(t.dataDir, 'chunks', s.session_id.slice(0, 2), s.session_id)
    assert.deepEqual(await readdir(dir).catch(() => []), [], 'the partial temporary file was removed')
    assert.equal(
      (await t.app.inject({ url: `/api/v1/sessions/${s.session_id}/chunks`, headers: li.auth })).json().pagination
        .total,
      0
    )
  } finally {
    await t.close()
  }
})
