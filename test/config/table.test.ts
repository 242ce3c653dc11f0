import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig, SECRET_SETTINGS } from '../../src/config.js'
import { variables } from '../../src/config/schema.js'
import { CONFIG_TABLE } from '../../src/config/table.js'
import { RULES } from '../../src/config/rules.js'

const VARS = variables(CONFIG_TABLE)

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
    return []
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.problems
  }
}

/** A value each kind of parser must refuse. */
function badValue(type: string): string | undefined {
  if (type.startsWith('int')) return 'abc'
  if (type === 'boolean') return 'maybe'
  if (type.startsWith('url')) return 'not a url'
  if (/^[\w-]+(\|[\w-]+)+$/.test(type)) return 'zzz'
  return undefined
}

test('every variable is listed once, with a doc and a type', () => {
  const names = VARS.map((v) => v.env)
  assert.deepEqual(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
    'duplicate variables'
  )
  for (const v of VARS) {
    assert.match(v.env, /^[A-Z][A-Z0-9_]+$/, v.env)
    assert.ok(v.doc.trim().length > 0, `${v.env} has a doc`)
    assert.ok(v.type.length > 0, `${v.env} has a type`)
    assert.ok(v.section !== undefined, `${v.env} is in a section`)
  }
  assert.ok(names.length >= 100, `${names.length} variables`)
})

test("a table entry's parser rejects bad input with the variable's name in the problem", () => {
  let checked = 0
  for (const v of VARS) {
    const bad = v.entry === undefined ? undefined : badValue(v.type)
    if (bad === undefined) continue
    const problems = problemsOf({ [v.env]: bad })
    assert.ok(problems.length >= 1, `${v.env}=${bad} was accepted`)
    assert.ok(
      problems.some((p) => p.startsWith(`${v.env} `)),
      `${v.env}=${bad}: ${problems.join('; ')}`
    )
    checked++
  }
  assert.ok(checked >= 60, `only ${checked} entries checked`)
  // Ranges too, in the wording operators know.
  assert.deepEqual(problemsOf({ RATE_LIMIT_AUTHENTICATED: '0' }), [
    'RATE_LIMIT_AUTHENTICATED must be between 1 and 10000000, got 0'
  ])
  assert.deepEqual(problemsOf({ RATE_LIMIT_AUTHENTICATED: 'abc' }), [
    'RATE_LIMIT_AUTHENTICATED must be an integer, got "abc"'
  ])
  assert.deepEqual(problemsOf({ JWT_ALGORITHM: 'RS256' }), ['JWT_ALGORITHM must be HS256 or EdDSA, got "RS256"'])
})

test('an unset or empty variable takes its default; a computed default follows the variable it depends on', () => {
  const c = loadConfig({ HTTP_PORT: '  ', DATA_DIR: '/srv/lucid', LOAD_SHED_MAX_IN_FLIGHT: '1000' })
  assert.equal(c.httpPort, 8080)
  assert.equal(c.backupDir, '/srv/lucid/backups')
  assert.equal(c.volumesRoot, '/srv/lucid/volumes')
  assert.equal(c.loadShedMaxInFlightPerClient, 250)
  assert.equal(loadConfig({}).loadShedMaxInFlightPerClient, 96)
})

test('every credential is flagged secret, so no list elsewhere can forget one', () => {
  // Public keys are not credentials: the dashboard shows which are still accepted.
  const notSecret = new Set(['JWT_PREVIOUS_PUBLIC_KEYS'])
  const credential = /(_TOKEN|_SECRET|_SECRET_KEYS?|_KEY|_KEYS|PASSWORD|_HEADERS)$|^(DATABASE_URL|REDIS_URL|SMTP_URL)$/
  const missing = VARS.filter((v) => credential.test(v.env) && !notSecret.has(v.env) && v.secret !== true).map(
    (v) => v.env
  )
  assert.deepEqual(missing, [])
  assert.deepEqual(
    SECRET_SETTINGS,
    VARS.filter((v) => v.secret === true).map((v) => v.env)
  )
  for (const name of [
    'JWT_SECRET_KEY',
    'DATA_ENCRYPTION_KEY',
    'METRICS_TOKEN',
    'SMTP_URL',
    'DATABASE_URL',
    'REDIS_URL',
    'SERVER_TIMING_SECRET'
  ]) {
    assert.ok(SECRET_SETTINGS.includes(name), name)
  }
})

test("a reader's variables show the defaults the reader really applies", () => {
  const c = loadConfig({}) as unknown as Record<string, Record<string, unknown>>
  for (const v of VARS) {
    if (v.entry !== undefined || v.shown === undefined || v.path === undefined) continue
    const [group, field] = v.path.split('.')
    assert.equal(String(c[group][field]), v.shown, v.env)
  }
})

test('every cross-field rule names the variables it is about, and each checked one fires', () => {
  for (const r of RULES) assert.match(r.doc, /[A-Z]{3,}_[A-Z_]+/, r.doc)
  const fired = (env: Record<string, string>, text: string) =>
    assert.ok(
      problemsOf(env).some((p) => p.includes(text)),
      text
    )
  fired({ DATABASE_URL: 'postgres://db/l' }, 'JWT_SECRET_KEY is required when DATABASE_URL is set')
  fired({ DATABASE_URL: 'postgres://db/l' }, 'DATA_ENCRYPTION_KEY is required when DATABASE_URL is set')
  fired(
    { JWT_ALGORITHM: 'EdDSA' },
    'JWT_SIGNING_KEY (an Ed25519 private key, PEM or path) is required when JWT_ALGORITHM=EdDSA'
  )
  fired({ WORKERS: '3' }, 'WORKERS=3 runs several processes')
  fired({ SSL_KEY_PATH: '/k' }, 'SSL_CERT_PATH and SSL_KEY_PATH must be set together')
  fired({ HEADERS_TIMEOUT_MS: '200000' }, 'HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS')
  fired(
    { SSL_CERT_PATH: '/c', SSL_KEY_PATH: '/k', HTTP_REDIRECT_TO_HTTPS: 'true' },
    'HTTP_REDIRECT_TO_HTTPS needs PUBLIC_URL'
  )
  // A malformed key is its own problem, not also a missing one.
  assert.deepEqual(
    problemsOf({ DATABASE_URL: 'postgres://db/l', JWT_SECRET_KEY: 'x'.repeat(32), DATA_ENCRYPTION_KEY: 'abc' }),
    ['DATA_ENCRYPTION_KEY must be 32 bytes given as 64 hex characters or base64']
  )
})
