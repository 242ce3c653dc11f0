/**
 * The README's Architecture section names every folder of src/ and every route group, so it cannot
 * go stale (issue 16): a new folder without a line there fails this test.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')

export function architectureSection(readme: string): string {
  const start = readme.indexOf('\n## Architecture\n')
  assert.ok(start >= 0, 'README has an "## Architecture" section')
  const end = readme.indexOf('\n## ', start + 5)
  return readme.slice(start, end < 0 ? undefined : end)
}

/** The entries of `section` missing for the given folder names (`src/x/`, `src/routes/y/`). */
export function missingEntries(
  section: string,
  srcFolders: string[],
  routeFolders: string[],
  routeFiles: string[]
): string[] {
  const wanted = [
    ...srcFolders.map((d) => `src/${d}/`),
    ...routeFolders.map((d) => `src/routes/${d}/`),
    ...routeFiles.map((f) => `src/routes/${f}`)
  ]
  return wanted.filter((w) => !section.includes(w))
}

const dirs = async (p: string) =>
  (await readdir(path.join(ROOT, p), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
const files = async (p: string) =>
  (await readdir(path.join(ROOT, p), { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => e.name)

test('the README Architecture section lists every src/ folder, route folder and top-level route file', async () => {
  const section = architectureSection(await readFile(path.join(ROOT, 'README.md'), 'utf8'))
  const missing = missingEntries(section, await dirs('src'), await dirs('src/routes'), await files('src/routes'))
  assert.deepEqual(missing, [], 'add these to the Architecture section of README.md')
})

test('the check fails for a folder the section does not name', () => {
  const section = '\n## Architecture\n```\nsrc/data/   db\nsrc/routes/meta/  meta\n```\n'
  assert.deepEqual(missingEntries(section, ['data', 'newthing'], ['meta', 'orders'], ['probes.ts']), [
    'src/newthing/',
    'src/routes/orders/',
    'src/routes/probes.ts'
  ])
  assert.deepEqual(missingEntries(section, ['data'], ['meta'], []), [])
})
