/**
 * `.env.example`, rendered from the table (scripts/env-example.ts writes it; a test fails when the
 * committed file differs): every variable with its default, unit and doc, then the rules.
 */
import { variables, type Variable } from './schema.js'
import { CONFIG_TABLE } from './table.js'
import { RULES } from './rules.js'

const HEADER = [
  '# Lucid API Gateway settings. Every key is optional in embedded mode; defaults shown.',
  '# Copy to .env (read at start) or set in the environment. Units are in the names; [unit] where not.',
  '# Generated from src/config/table.ts by `node --import tsx scripts/env-example.ts`: edit the table, not this file.'
]
const COLUMN = 35

/** `NAME=default` for a set default, `# NAME=example` for a sample, `# NAME=` when unset. */
function assignment(v: Variable): string {
  if (v.example !== undefined) return `# ${v.env}=${v.example}`
  if (v.shown !== undefined) return `${v.env}=${v.shown}`
  const def = v.entry?.default
  if (typeof def === 'function' || def === undefined || (Array.isArray(def) && def.length === 0)) return `# ${v.env}=`
  return `${v.env}=${Array.isArray(def) ? def.join(',') : String(def)}`
}

/** The doc as a comment, its later lines aligned under the first; the unit unless the name says it. */
function comment(v: Variable): string[] {
  const lines = v.doc.split('\n')
  if (v.unit !== undefined && !v.env.toLowerCase().endsWith(`_${v.unit.toLowerCase()}`)) lines[0] += ` [${v.unit}]`
  return lines
}

function render(v: Variable): string[] {
  const [first, ...rest] = comment(v)
  const a = assignment(v)
  // Later lines start with '#' too: a dotenv parser (process.loadEnvFile) reads an indented line as a value.
  return [`${a.padEnd(COLUMN - 1)} # ${first}`, ...rest.map((l) => `${'#'.padEnd(COLUMN)}# ${l}`)]
}

export function renderEnvExample(): string {
  const out = [...HEADER]
  let current: string | undefined
  for (const v of variables(CONFIG_TABLE)) {
    if (v.section !== current) {
      current = v.section
      out.push('', `# --- ${current ?? 'Other'} ---`)
    }
    out.push(...render(v))
  }
  out.push('', '# --- Rules across settings (src/config/rules.ts) ---', ...RULES.map((r) => `# ${r.doc}`))
  return `${out.join('\n')}\n`
}
