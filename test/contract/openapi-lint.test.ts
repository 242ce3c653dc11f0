import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildTestApp } from '../helpers/app.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Problem {
  ruleId: string
  severity: string
  message: string
  location: { pointer?: string }[]
}

test('the generated OpenAPI document lints clean with @redocly/cli (redocly.yaml: recommended, switched-off rules give a reason)', async (t) => {
  const gw = await buildTestApp()
  t.after(() => gw.close())
  const res = await gw.app.inject({ url: '/openapi.json' })
  assert.equal(res.statusCode, 200)
  const file = path.join(gw.dataDir, 'openapi.json')
  await writeFile(file, res.body)
  const cli = path.join(root, 'node_modules/@redocly/cli/bin/cli.js')
  // No telemetry or update checks: CI has no business calling out.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }
  const run = await promisify(execFile)(
    process.execPath,
    [cli, 'lint', file, '--config', path.join(root, 'redocly.yaml'), '--format', 'json', '--max-problems', '1000'],
    { env, cwd: root, maxBuffer: 64 * 1024 * 1024 }
  ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }))
  const out = run.stdout.slice(run.stdout.indexOf('{'))
  const report = JSON.parse(out) as { problems: Problem[] }
  const lines = report.problems.map(
    (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`
  )
  assert.deepEqual(lines, [], `redocly lint found ${lines.length} problems:\n${lines.join('\n')}`)
})
