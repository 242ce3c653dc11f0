/**
 * Writes .env.example from the configuration table (src/config/table.ts), or with `--check`
 * exits 1 when the file differs (test/config/env-example.test.ts runs the same check).
 *   node --import tsx scripts/env-example.ts [--check] [--file=PATH]   (default: the repository's .env.example)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderEnvExample } from '../src/config/env-example.js'

const { values } = parseArgs({ options: { check: { type: 'boolean' }, file: { type: 'string' } } })
const file = values.file ?? fileURLToPath(new URL('../.env.example', import.meta.url))
const wanted = renderEnvExample()

if (values.check === true) {
  let current = ''
  try {
    current = readFileSync(file, 'utf8')
  } catch {
    // A missing file differs like any other.
  }
  if (current !== wanted) {
    console.error(`${file} is not what src/config/table.ts generates: run \`node --import tsx scripts/env-example.ts\``)
    process.exit(1)
  }
  console.log(`${file} is up to date`)
} else {
  writeFileSync(file, wanted)
  console.log(`wrote ${file}`)
}
