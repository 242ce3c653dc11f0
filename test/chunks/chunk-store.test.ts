import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createFsChunkStore, TEMPORARY_MAX_AGE_MS } from '../../src/chunks/chunk-store.js'

// A fresh temporary file is another instance's upload in progress.
test('the start-up sweep of a shared chunk store removes only stale temporary files', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'lucid-chunks-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const dir = path.join(root, 'ab', 'abababab-abab-abab-abab-abababababab')
  await mkdir(dir, { recursive: true })
  const fresh = path.join(dir, '.tmp-fresh')
  const stale = path.join(dir, '.tmp-stale')
  await writeFile(fresh, 'in progress')
  await writeFile(stale, 'left by a killed process')
  const old = new Date(Date.now() - TEMPORARY_MAX_AGE_MS - 60_000)
  await utimes(stale, old, old)
  assert.equal(await createFsChunkStore(root).sweepTemporary(), 1)
  assert.ok(await stat(fresh))
  await assert.rejects(stat(stale))
})
