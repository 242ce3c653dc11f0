import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseEnv, promisify } from 'node:util'
import { loadConfig } from '../../src/config.js'
import { renderEnvExample } from '../../src/config/env-example.js'
import { variables } from '../../src/config/schema.js'
import { CONFIG_TABLE } from '../../src/config/table.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const committed = await readFile(path.join(ROOT, '.env.example'), 'utf8')

test('the committed .env.example is the one the table generates', () => {
  assert.equal(committed, renderEnvExample(), 'run `node --import tsx scripts/env-example.ts` and commit .env.example')
})

test('.env.example names every variable of the table, and copied to .env it changes nothing', () => {
  const names = variables(CONFIG_TABLE).map((v) => v.env)
  const missing = names.filter((n) => !new RegExp(`^(# )?${n}=`, 'm').test(committed))
  assert.deepEqual(missing, [])
  // Read the way the gateway reads .env (process.loadEnvFile): each line a variable or a comment.
  const set = parseEnv(committed)
  assert.deepEqual(
    Object.keys(set).filter((k) => !names.includes(k)),
    [],
    'a doc line was read as a variable'
  )
  assert.deepEqual(loadConfig(set), loadConfig({}))
})

test('scripts/env-example.ts writes the file, and --check fails on a stale one', async () => {
  const run = promisify(execFile)
  const script = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/env-example.ts', ...args], { cwd: ROOT })
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-env-example-'))
  const file = path.join(dir, '.env.example')
  await script(`--file=${file}`)
  assert.equal(await readFile(file, 'utf8'), renderEnvExample())
  assert.match((await script('--check', `--file=${file}`)).stdout, /up to date/)
  await writeFile(file, renderEnvExample().replace('HTTP_PORT=8080', 'HTTP_PORT=8081'))
  await assert.rejects(script('--check', `--file=${file}`), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1)
    assert.match(err.stderr, /is not what src\/config\/table\.ts generates/)
    return true
  })
  await rm(dir, { recursive: true })
})
