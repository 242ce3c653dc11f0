import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/build-if-stale.mjs')

/** A repository-shaped directory whose "build" only records that it ran. */
function fixture(): {
  dir: string
  run(...args: string[]): { code: number | null; out: string }
  age(file: string, secondsAgo: number): void
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'lucid-stale-'))
  mkdirSync(path.join(dir, 'scripts'))
  mkdirSync(path.join(dir, 'src', 'routes'), { recursive: true })
  copyFileSync(script, path.join(dir, 'scripts', 'build-if-stale.mjs'))
  copyFileSync(path.join(path.dirname(script), 'build-admin.mjs'), path.join(dir, 'scripts', 'build-admin.mjs'))
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'fixture',
      private: true,
      scripts: { build: "node -e \"require('fs').appendFileSync('builds.log', 'built\\\\n')\"" }
    })
  )
  for (const f of ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/server.ts', 'src/routes/a.ts'])
    writeFileSync(path.join(dir, f), '{}')
  return {
    dir,
    run: (...args) => {
      const r = spawnSync(process.execPath, ['scripts/build-if-stale.mjs', ...args], { cwd: dir, encoding: 'utf8' })
      return { code: r.status, out: `${r.stdout}${r.stderr}` }
    },
    age(file, secondsAgo) {
      const t = new Date(Date.now() - secondsAgo * 1000)
      if (existsSync(path.join(dir, file))) utimesSync(path.join(dir, file), t, t)
    }
  }
}

test('npm start builds once, then starts without rebuilding until a build input changes (issue 13)', (t) => {
  const f = fixture()
  t.after(() => rmSync(f.dir, { recursive: true, force: true }))
  assert.equal(f.run('--check').code, 1, 'no build yet')
  const first = f.run()
  assert.equal(first.code, 0, first.out)
  assert.match(first.out, /building \(no previous build\)/)
  assert.match(f.run().out, /build is current/, 'the second start skips the build')
  assert.equal(f.run('--check').code, 0)

  // Everything older than the stamp: current. Then each kind of change makes it stale again.
  const settle = () => {
    for (const p of [
      'src/server.ts',
      'src/routes/a.ts',
      'src/routes',
      'src',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts/build-admin.mjs'
    ])
      f.age(p, 100)
    f.age('dist/.build-stamp', 50)
    assert.equal(f.run('--check').code, 0)
  }
  settle()
  writeFileSync(path.join(f.dir, 'src/routes/a.ts'), '{"changed":true}')
  assert.match(f.run('--check').out, /stale: sources changed/, 'an edited source file')
  settle()
  unlinkSync(path.join(f.dir, 'src/routes/a.ts'))
  assert.equal(f.run('--check').code, 1, 'a deleted source file (its directory changed)')
  settle()
  writeFileSync(path.join(f.dir, 'tsconfig.build.json'), '{"compilerOptions":{}}')
  assert.equal(f.run('--check').code, 1, 'a changed tsconfig')
  const rebuilt = f.run()
  assert.match(rebuilt.out, /building \(sources changed/)
  assert.equal(f.run('--check').code, 0)
})
