/**
 * Dependency rules of the source tree (issue 16), checked by parsing the imports of src/**:
 *
 * 1. A file under src/routes/<a>/ never imports src/routes/<b>/ (b ≠ a); src/routes/shared/ is for
 *    everyone, and imports no route folder itself.
 * 2. No route file reaches the database handle (`app.db`, `fastify.db`, `request.server.db`): routes
 *    go through repositories and services.
 * 3. No core module (ratelimit, crypto, merkle, backup, proxy, data, stores, jobs, services, chain,
 *    volumes, chunks, errors) imports Fastify (fastify, fastify-plugin, @fastify/*), src/routes or
 *    src/plugins.
 * 4. No file under src/routes, src/services or src/backup holds SQL: statements live in
 *    src/data/repositories/ (DDL built by src/data/ddl.ts), so src/backup keeps the format,
 *    checksums and encryption, and the data layer the statements that move the rows.
 *
 * Known exceptions are listed below with the reason; the test fails on any violation that is not
 * listed and on any listed exception that no longer occurs, so the list can only shrink.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')
const CORE = [
  'ratelimit',
  'crypto',
  'merkle',
  'backup',
  'proxy',
  'data',
  'stores',
  'jobs',
  'services',
  'chain',
  'volumes',
  'chunks',
  'errors'
]

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes: `src/routes/users/index.ts`. */
  file: string
  source: string
}

export interface Violation {
  rule: 'route-imports-route' | 'route-uses-db' | 'core-imports-framework' | 'sql-outside-data'
  file: string
  detail: string
}

/** Module specifiers of static imports, re-exports and dynamic imports (comments stripped first). */
const stripComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')

export function importsOf(source: string): string[] {
  const code = stripComments(source)
  const out: string[] = []
  const re =
    /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*\s{},$]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2])
  return out
}

/** `src/...` path an import resolves to, or the bare package name. */
function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts')
}

const routeFolder = (file: string): string | undefined => /^src\/routes\/([^/]+)\//.exec(file)?.[1]
const topFolder = (file: string): string | undefined => {
  const m = /^src\/([^/]+)(\/|\.ts$)/.exec(file)
  return m === null ? undefined : m[1]
}
// Statement shapes, upper case as the code base writes SQL; prose in summaries ("Drop a table") does not match.
// A table may be spliced in (`UPDATE ${t} AS t SET`); cursors and TRUNCATE are the dump's shapes.
const SQL_RE =
  /\b(?:SELECT\s[\s\S]*?\sFROM|INSERT\s+INTO|UPDATE\s+[\w."${}()]+(?:\s+AS\s+\w+)?\s+SET|DELETE\s+FROM|TRUNCATE\s|(?:CREATE|DROP|ALTER)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|SCHEMA|VIEW)|REINDEX\s+(?:TABLE|INDEX)|ANALYZE\s|DECLARE\s+\S+\s+(?:NO\s+SCROLL\s+)?CURSOR|FETCH\s+\S+\s+FROM|SET\s+TRANSACTION)/g
/** Where SQL must not be written: the HTTP layer, the service tier and the backup format. */
const NO_SQL = ['src/routes/', 'src/services/', 'src/backup/']
const isFramework = (spec: string) => spec === 'fastify' || spec === 'fastify-plugin' || spec.startsWith('@fastify/')

export function checkDependencies(files: SourceFile[]): Violation[] {
  const out: Violation[] = []
  for (const { file, source } of files) {
    const mine = routeFolder(file)
    const top = topFolder(file)
    for (const spec of importsOf(source)) {
      const target = resolve(file, spec)
      const theirs = routeFolder(target)
      if (mine !== undefined && theirs !== undefined && theirs !== mine && (theirs !== 'shared' || mine === 'shared')) {
        out.push({ rule: 'route-imports-route', file, detail: target })
      }
      if (
        top !== undefined &&
        CORE.includes(top) &&
        (isFramework(spec) || target.startsWith('src/routes/') || target.startsWith('src/plugins/'))
      ) {
        out.push({ rule: 'core-imports-framework', file, detail: target })
      }
    }
    const code = stripComments(source)
    if (file.startsWith('src/routes/')) {
      const n = [...code.matchAll(/\b(?:app|fastify|instance|server)\.db\b/g)].length
      if (n > 0) out.push({ rule: 'route-uses-db', file, detail: `${n} use(s) of the database handle` })
    }
    if (NO_SQL.some((dir) => file.startsWith(dir))) {
      const sql = [...code.matchAll(SQL_RE)].length
      if (sql > 0) out.push({ rule: 'sql-outside-data', file, detail: `${sql} SQL statement(s)` })
    }
  }
  return out
}

/**
 * Violations the code still has, each with why it was not removed in issue 16b. A listed exception
 * that disappears fails the test: delete its line.
 */
// Empty: every rule holds everywhere. A new entry needs its reason and shrinks the list later.
export const KNOWN_EXCEPTIONS: Array<Pick<Violation, 'rule' | 'file'> & { reason: string }> = []

async function sourceFiles(dir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = []
  for (const e of await readdir(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`
    if (e.isDirectory()) out.push(...(await sourceFiles(rel)))
    else if (e.name.endsWith('.ts')) out.push({ file: rel, source: await readFile(path.join(ROOT, rel), 'utf8') })
  }
  return out
}

test('src/** keeps the dependency rules, apart from the listed exceptions', async () => {
  const found = checkDependencies(await sourceFiles('src'))
  const key = (v: Pick<Violation, 'rule' | 'file'>) => `${v.rule} ${v.file}`
  const known = new Set(KNOWN_EXCEPTIONS.map(key))
  const unexpected = found.filter((v) => !known.has(key(v)))
  assert.deepEqual(unexpected, [], 'new dependency-rule violations')
  const stale = KNOWN_EXCEPTIONS.filter((e) => !found.some((v) => key(v) === key(e)))
  assert.deepEqual(stale.map(key), [], 'listed exceptions that no longer occur: remove them from KNOWN_EXCEPTIONS')
})

test('the checker reports deliberately wrong imports and database access', () => {
  const wrong: SourceFile[] = [
    {
      file: 'src/routes/users/index.ts',
      source: "import { requireConfirm } from '../backups/index.js'\nimport { x } from '../shared/request.js'"
    },
    { file: 'src/routes/shared/request.ts', source: "import type { ClientInfo } from '../auth/service.js'" },
    { file: 'src/routes/trust/index.ts', source: "export default async (app) => { await app.db.query('SELECT 1') }" },
    { file: 'src/ratelimit/gcra.ts', source: "import type { FastifyInstance } from 'fastify'" },
    { file: 'src/data/repositories/x.ts', source: "export { y } from '../../routes/meta/schema.js'" },
    { file: 'src/services/health.ts', source: "const m = await import('../plugins/auth.js')" },
    { file: 'src/jobs/job-runner.ts', source: "import fp from 'fastify-plugin'" },
    { file: 'src/stores/x.ts', source: "import '@fastify/cors'" },
    {
      file: 'src/routes/search/index.ts',
      source: "const q = `SELECT count(*) FROM ${t}`\nconst d = 'DROP INDEX CONCURRENTLY x'"
    },
    {
      file: 'src/backup/create.ts',
      source:
        'await tx.query(`TRUNCATE ${list}`)\nawait tx.query(`UPDATE ${t} AS t SET a = p.a`)\nawait tx.query(`FETCH 1000 FROM c`)'
    },
    {
      file: 'src/backup/service.ts',
      source:
        "db.query(\"UPDATE backups SET status = 'running'\")\ntx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')"
    },
    { file: 'src/services/users.ts', source: "db.query('DELETE FROM users WHERE user_id = $1', [id])" }
  ]
  assert.deepEqual(
    checkDependencies(wrong).map((v) => `${v.rule} ${v.file} ${v.detail}`),
    [
      'route-imports-route src/routes/users/index.ts src/routes/backups/index.ts',
      'route-imports-route src/routes/shared/request.ts src/routes/auth/service.ts',
      'route-uses-db src/routes/trust/index.ts 1 use(s) of the database handle',
      'core-imports-framework src/ratelimit/gcra.ts fastify',
      'core-imports-framework src/data/repositories/x.ts src/routes/meta/schema.ts',
      'core-imports-framework src/services/health.ts src/plugins/auth.ts',
      'core-imports-framework src/jobs/job-runner.ts fastify-plugin',
      'core-imports-framework src/stores/x.ts @fastify/cors',
      'sql-outside-data src/routes/search/index.ts 2 SQL statement(s)',
      'sql-outside-data src/backup/create.ts 3 SQL statement(s)',
      'sql-outside-data src/backup/service.ts 2 SQL statement(s)',
      'sql-outside-data src/services/users.ts 1 SQL statement(s)'
    ]
  )
})

test('the checker accepts the allowed shapes', () => {
  const fine: SourceFile[] = [
    {
      file: 'src/routes/users/index.ts',
      source:
        "import { a } from './schema.js'\nimport { b } from '../shared/schema.js'\nimport { c } from '../../errors.js'"
    },
    { file: 'src/routes/users/index.ts', source: "// app.db is not used here\n/* app.db */ const s = 'x'" },
    { file: 'src/plugins/auth.ts', source: "import fp from 'fastify-plugin'\nconst r = app.db" },
    { file: 'src/ratelimit/gcra.ts', source: "import { x } from '../data/db.js'" },
    {
      file: 'src/routes/database/index.ts',
      source: "const summary = 'Drop a table; run CREATE EXTENSION x to select from it'\n// SELECT * FROM users"
    },
    { file: 'src/data/repositories/x.ts', source: "db.query('SELECT 1 FROM users')" },
    { file: 'src/data/repositories/table-data.ts', source: 'tx.query(`TRUNCATE ${t}`)' },
    { file: 'src/backup/format.ts', source: 'throw new BackupError(\'BAD_REQUEST\', `unknown table "${w}"`)' }
  ]
  assert.deepEqual(checkDependencies(fine), [])
})
