import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ConfigError, freezeConfig, loadConfig } from '../src/config.js'
import { ensureEmbeddedSecrets } from '../src/secrets.js'

test('every configuration violation is reported at once, naming its variable', () => {
  try {
    loadConfig({
      JWT_SECRET_KEY: 'short',
      HTTP_PORT: 'eighty',
      CORS_ORIGINS: 'https://ok.example,not a url',
      LOG_LEVEL: 'loud'
    })
    assert.fail('expected ConfigError')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const text = err.problems.join('\n')
    assert.match(text, /JWT_SECRET_KEY must be at least 32 characters/)
    assert.match(text, /HTTP_PORT must be an integer/)
    assert.match(text, /CORS_ORIGINS entry "not a url"/)
    assert.match(text, /LOG_LEVEL must be one of/)
    assert.equal(err.problems.length, 4)
  }
})

test('with DATABASE_URL a missing secret or encryption key is a configuration error', () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'postgres://db/lucid' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.ok(err.problems.some((p) => p.includes('JWT_SECRET_KEY is required when DATABASE_URL is set')))
      assert.ok(err.problems.some((p) => p.includes('DATA_ENCRYPTION_KEY is required when DATABASE_URL is set')))
      return true
    }
  )
})

test('defaults follow the contract and the result is frozen', () => {
  const c = freezeConfig(loadConfig({}))
  assert.equal(c.httpPort, 8080)
  assert.equal(c.httpsPort, 8081)
  assert.equal(c.bodyLimitBytes, 1_048_576)
  assert.equal(c.rateLimit.public, 100)
  assert.equal(c.rateLimit.failureMode, 'degrade')
  assert.equal(c.upstreams.blockchainCoreTimeoutMs, 60_000)
  assert.deepEqual(c.allowedHosts, ['*'])
  assert.throws(() => {
    ;(c as { httpPort: number }).httpPort = 1
  }, TypeError)
})

test('embedded mode generates secrets once, keeps them under DATA_DIR with mode 0600, and warns', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-cfg-'))
  const warnings: string[] = []
  const log = { warn: (_o: object, msg: string) => void warnings.push(msg) }
  const first = await ensureEmbeddedSecrets(loadConfig({ DATA_DIR: dir }), log)
  assert.ok((first.jwtSecretKey as string).length >= 32)
  assert.equal(first.dataEncryptionKey?.length, 32)
  assert.equal(warnings.length, 2)
  const file = path.join(dir, 'secrets.json')
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const second = await ensureEmbeddedSecrets(loadConfig({ DATA_DIR: dir }), log)
  assert.equal(second.jwtSecretKey, first.jwtSecretKey)
  assert.equal(warnings.length, 2, 'no new warning once the secrets exist')
  assert.ok(JSON.parse(await readFile(file, 'utf8')).jwt_secret_key)
})
