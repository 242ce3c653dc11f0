import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig, SECRET_SETTINGS } from '../../src/config.js'
import { configSources, formatSources, maskedConfig } from '../../src/cli/mask.js'
import { variables } from '../../src/config/schema.js'
import { CONFIG_TABLE } from '../../src/config/table.js'

/** A recognisable credential for every variable the table flags secret. */
const SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgres://gw:db-pass-1@db.internal/lucid',
  REDIS_URL: 'redis://:redis-pass-2@cache:6379',
  JWT_SECRET_KEY: 'jwt-secret-3'.padEnd(40, 'x'),
  JWT_PREVIOUS_SECRET_KEYS: 'old-secret-4a,old-secret-4b',
  DATA_ENCRYPTION_KEY: '5'.repeat(64),
  JWT_SIGNING_KEY: 'signing-key-6',
  IDENTITY_SIGNING_KEY: 'identity-key-7',
  SMTP_URL: 'smtp://mailer:smtp-pass-8@mail:587',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:otel-pass-9@collector:4318',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel:otel-pass-10@collector:4318/v1/traces',
  OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=otel-key-11',
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=otel-key-12',
  SERVER_TIMING_SECRET: 'timing-secret-13-0123456789',
  METRICS_TOKEN: 'metrics-token-14-0123456789'
}
const credential = (v: string) => (v.includes('://') ? new URL(v).password : v.includes('=') ? v.split('=')[1] : v)
const ENV = { ...SECRETS, SERVER_TIMING: 'header', HTTP_PORT: '9000' }

test('config print masks every variable the table flags secret, and only by that flag', () => {
  assert.deepEqual(Object.keys(SECRETS).sort(), [...SECRET_SETTINGS].sort(), 'a sample for every secret variable')
  const config = loadConfig(ENV)
  const printed = maskedConfig(config, ENV)
  const text = JSON.stringify(printed)
  for (const [name, value] of Object.entries(SECRETS)) {
    for (const part of value.split(',')) assert.ok(!text.includes(credential(part)), `${name} leaked`)
    assert.ok(name in printed, `${name} is printed (masked)`)
  }
  assert.equal(printed.DATABASE_URL, 'postgres://gw:***@db.internal/lucid')
  assert.equal(printed.JWT_SECRET_KEY, '***')
  assert.deepEqual(printed.JWT_PREVIOUS_SECRET_KEYS, ['***', '***'])
  assert.deepEqual(printed.OTEL_EXPORTER_OTLP_HEADERS, { 'x-api-key': '***' })
  // Everything not flagged is shown as it is.
  assert.equal(printed.HTTP_PORT, 9000)
  assert.equal(printed.SERVER_TIMING, 'header')
  assert.deepEqual(printed.JWT_PREVIOUS_PUBLIC_KEYS, [])
})

test('config print --sources lists every variable with its masked value and whether env or default set it', () => {
  const rows = configSources(loadConfig(ENV), ENV)
  assert.deepEqual(
    rows.map((r) => r.name),
    variables(CONFIG_TABLE).map((v) => v.env)
  )
  const row = (name: string) => rows.find((r) => r.name === name)
  assert.deepEqual(row('HTTP_PORT'), { name: 'HTTP_PORT', value: 9000, source: 'env', unit: undefined })
  assert.deepEqual(row('KEEP_ALIVE_TIMEOUT_MS'), {
    name: 'KEEP_ALIVE_TIMEOUT_MS',
    value: 72_000,
    source: 'default',
    unit: 'ms'
  })
  assert.equal(row('METRICS_TOKEN')?.value, '***')
  assert.equal(row('METRICS_TOKEN')?.source, 'env')
  assert.equal(row('PROXY_ROUTES_FILE')?.value, undefined)
  const table = formatSources(rows)
  for (const value of Object.values(SECRETS))
    for (const part of value.split(',')) assert.ok(!table.includes(credential(part)), 'a secret leaked')
  assert.match(table, /^NAME\s+VALUE\s+SOURCE$/m)
  assert.match(table, /^HTTP_PORT\s+9000\s+env$/m)
  assert.match(table, /^KEEP_ALIVE_TIMEOUT_MS\s+72000 ms\s+default$/m)
  assert.match(table, /^PROXY_ROUTES_FILE\s+\(unset\)\s+default$/m)
  assert.equal(table.split('\n').length, rows.length + 1)
})
