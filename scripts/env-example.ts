/**
 * Writes .env.example from the configuration table (src/config/table.ts), or with `--check`
 * exits 1 when the committed file differs (test/config/env-example.test.ts runs the same check).
 *   node --import tsx scripts/env-example.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderEnvExample } from '../src/config/env-example.js'

const file = fileURLToPath(new URL('../.env.example', import.meta.url))
const wanted = renderEnvExample()

if (process.argv.includes('--check')) {
  let current = ''
  try {
    current = readFileSync(file, 'utf8')
  } catch {
    // A missing file differs like any other.
  }
  if (current !== wanted) {
    console.error('.env.example is not what src/config/table.ts generates: run `node --import tsx scripts/env-example.ts`')
    process.exit(1)
  }
  console.log('.env.example is up to date')
} else {
  writeFileSync(file, wanted)
  console.log(`wrote ${file}`)
}
