import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/identity.js'

test('the identity key is published at /.well-known/jwks.json and is stable for one DATA_ENCRYPTION_KEY', async () => {
  const a = await buildTestApp()
  try {
    const res = await a.app.inject({ url: '/.well-known/jwks.json' })
    assert.equal(res.statusCode, 200)
    const { keys } = res.json()
    assert.equal(keys.length, 1)
    assert.equal(keys[0].kty, 'OKP')
    assert.equal(keys[0].crv, 'Ed25519')
    assert.equal(keys[0].kid, a.app.identityKey.kid)
    assert.equal(keys[0].d, undefined, 'never the private part')
    const again = await a.sibling()
    assert.equal(
      (await again.inject({ url: '/.well-known/jwks.json' })).json().keys[0].kid,
      keys[0].kid,
      'every instance derives the same key'
    )
  } finally {
    await a.close()
  }
})

test('with JWT_ALGORITHM=EdDSA, tokens verify against the JWKS, and a rotated-out key keeps verifying', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-keys-'))
  const pem = (k: ReturnType<typeof generateKeyPairSync>) => ({
    priv: k.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    pub: k.publicKey.export({ format: 'pem', type: 'spki' }) as string
  })
  const oldKey = pem(generateKeyPairSync('ed25519'))
  const newKey = pem(generateKeyPairSync('ed25519'))
  await writeFile(path.join(dir, 'old.pub'), oldKey.pub)
  await writeFile(path.join(dir, 'new.key'), newKey.priv)

  const before = await buildTestApp({ env: { JWT_ALGORITHM: 'EdDSA', JWT_SIGNING_KEY: oldKey.priv } })
  try {
    const li = await login(before.app)
    const jwks = createLocalJWKSet((await before.app.inject({ url: '/.well-known/jwks.json' })).json())
    const verified = await jwtVerify(li.access, jwks, { issuer: 'lucid-api-gateway', audience: 'lucid-blockchain' })
    assert.equal(verified.protectedHeader.alg, 'EdDSA')
    assert.equal(verified.payload.sub, li.userId)

    // Rotate: new signing key, the old public key kept for verification.
    const after = await before.sibling({
      JWT_SIGNING_KEY: path.join(dir, 'new.key'),
      JWT_PREVIOUS_PUBLIC_KEYS: path.join(dir, 'old.pub')
    })
    assert.equal(
      (await after.inject({ url: '/api/v1/users/me', headers: li.auth })).statusCode,
      200,
      'old token still valid'
    )
    const li2 = await login(after)
    const kids = (await after.inject({ url: '/.well-known/jwks.json' })).json().keys.map((k: { kid: string }) => k.kid)
    assert.equal(kids.length, 3, 'identity key, current and previous token keys')
    const header = JSON.parse(Buffer.from(li2.access.split('.')[0], 'base64url').toString())
    assert.ok(kids.includes(header.kid))
    const hsGateway = await before.sibling({ JWT_ALGORITHM: 'HS256' })
    assert.equal(
      (await hsGateway.inject({ url: '/api/v1/users/me', headers: li2.auth })).statusCode,
      401,
      'an EdDSA token is refused where HS256 is configured'
    )
  } finally {
    await before.close()
  }
})
