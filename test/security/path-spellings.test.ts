/**
 * Issue 12 finding 2: limit rules matched the raw URL while the router decoded it, so other
 * spellings of a path (`/auth/%63hallenge`, `/auth/verify/`, `/chain/%62locks`) reached the same
 * handlers without meeting their rule. Every spelling now lands in the same bucket as the canonical
 * path, and encoded `/` or dot-segment tricks are refused with 400 in the envelope. Raw sockets
 * (node:http sends the path exactly as given).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { login, newWallet, type LoggedIn } from '../helpers/identity.js'
import { startLucidBlocks, type LucidBlocksStandIn } from '../support/stand-ins.js'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        agent: false
      },
      (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('one normalised path for every decision', () => {
  let gw: TestApp
  let chain: LucidBlocksStandIn
  let port: number
  let user: LoggedIn
  const AUTH_LIMIT = 8
  before(async () => {
    chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
    gw = await buildTestApp({
      env: { RATE_LIMIT_AUTH: String(AUTH_LIMIT), RATE_LIMIT_CHAIN_BLOCKS: '4', BLOCKCHAIN_CORE_URL: chain.url }
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    port = (gw.app.server.address() as { port: number }).port
    // The login (challenge + login) takes 2 of the 8 auth tokens of 127.0.0.1; 6 are left below.
    user = await login(gw.app)
  })
  after(async () => {
    await gw.close()
    await chain.close()
  })

  test('challenge, login and verify spelt differently all count against the one auth bucket', async () => {
    const wallet = await newWallet()
    const body = JSON.stringify({ tron_address: wallet.address })
    const spellings = [
      '/api/v1/auth/challenge',
      '/api/v1/auth/challenge/',
      '/api/v1/auth/%63hallenge',
      '/api/v1/auth/verify/',
      '/api/v1/auth/%6cogin',
      '/api/v1/auth/ch%61llenge/'
    ]
    assert.equal(spellings.length, AUTH_LIMIT - 2)
    const remaining: string[] = []
    for (const path of spellings) {
      const res = await send(port, 'POST', path, {}, body)
      assert.notEqual(res.status, 404, `${path} reaches a handler`)
      assert.notEqual(res.status, 429, `${path} within the limit: ${res.body}`)
      assert.match(String(res.headers['ratelimit-policy']), /^"auth";q=8;w=60$/, `${path} meets the auth rule`)
      remaining.push(String(res.headers['x-ratelimit-remaining']))
    }
    assert.deepEqual(remaining, ['5', '4', '3', '2', '1', '0'])
    for (const path of ['/api/v1/auth/%63hallenge', '/api/v1/auth/challenge', '/api/v1/auth/verify/']) {
      const res = await send(port, 'POST', path, {}, body)
      assert.equal(res.status, 429, `${path} after the bucket is empty`)
      assert.equal(JSON.parse(res.body).error.code, 'LUCID_ERR_3001')
    }
  })

  test('/api/v1/chain/%62locks meets the chain_blocks rule of /api/v1/chain/blocks', async () => {
    const paths = [
      '/api/v1/chain/blocks',
      '/api/v1/chain/%62locks',
      '/api/v1/chain/blocks/',
      '/api/v1/chain/%62%6c%6f%63%6b%73?limit=1'
    ]
    for (const [i, path] of paths.entries()) {
      const res = await send(port, 'GET', path, user.auth)
      assert.equal(res.status, 200, `${path}: ${res.body}`)
      assert.match(String(res.headers['ratelimit-policy']), /^"chain_blocks";/, path)
      assert.equal(res.headers['x-ratelimit-remaining'], String(3 - i), path)
    }
    const res = await send(port, 'GET', '/api/v1/chain/%62locks', user.auth)
    assert.equal(res.status, 429)
    const seen = chain.requests.filter((r) => r.url.startsWith('/api/v1/chain/blocks')).map((r) => r.url)
    assert.ok(
      seen.every((u) => !u.includes('%')),
      `the upstream sees the normalised path: ${seen.join(' ')}`
    )
  })

  test('encoded slashes, dot segments and bad escapes are refused with 400 in the envelope', async () => {
    const bad = [
      '/api/v1/auth%2fchallenge',
      '/api/v1/auth/%2e%2e/auth/challenge',
      '/api/v1/auth/./challenge',
      '/api/v1/auth/.%2E/users/me',
      '/api/v1//auth/challenge',
      '/api/v1/auth/%zzchallenge',
      '/api/v1/auth/challenge%5c'
    ]
    for (const path of bad) {
      const res = await send(port, 'POST', path, {}, '{}')
      assert.equal(res.status, 400, `${path} → ${res.status}`)
      const e = JSON.parse(res.body).error
      assert.equal(e.code, 'LUCID_ERR_1001', path)
      assert.equal(e.service, 'api-gateway')
      assert.equal(res.headers['x-request-id'], e.request_id, path)
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path)
      assert.ok(
        !res.body.includes('%zz') && !res.body.includes('%2e') && !res.body.includes('%2f'),
        `${path} is not echoed`
      )
    }
  })
})
