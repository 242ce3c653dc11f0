import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import https from 'node:https'
import tls from 'node:tls'
import { request } from 'undici'
import { findProgram } from '../helpers/programs.js'
import { freePort } from '../helpers/throwaway.js'
import { spawnGateway } from '../helpers/gateway-process.js'

function makeCert(openssl: string, dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`)
  const key = path.join(dir, `${name}.key`)
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1'
    ],
    { stdio: 'pipe' }
  )
  return { cert, key }
}

function handshake(port: number, ca: Buffer, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, ...opts }, () => resolve(s))
    s.once('error', reject)
  })
}

/** GET over one kept-alive socket; reports whether the socket was reused. */
function get(
  agent: https.Agent,
  port: number,
  ca: Buffer,
  urlPath: string
): Promise<{ status: number; reused: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, agent, ca }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body }))
    })
    req.once('error', reject)
  })
}

test('HTTPS on HTTPS_PORT: TLS 1.2+ only, HTTP redirects, SIGHUP reloads the certificate without dropping connections', async (t) => {
  const openssl = findProgram('openssl', t)
  if (openssl === null) return
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-tls-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const first = makeCert(openssl, dir, 'first')
  const second = makeCert(openssl, dir, 'second')
  const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') }
  execFileSync('cp', [first.cert, live.cert])
  execFileSync('cp', [first.key, live.key])
  const [httpPort, httpsPort] = [await freePort(), await freePort()]
  const g = spawnGateway(t, {
    DATA_DIR: path.join(dir, 'data'),
    HTTP_PORT: String(httpPort),
    HTTPS_PORT: String(httpsPort),
    SSL_CERT_PATH: live.cert,
    SSL_KEY_PATH: live.key,
    HTTP_REDIRECT_TO_HTTPS: 'true',
    ALLOWED_HOSTS: '127.0.0.1'
  })
  await g.waitFor(/gateway listening/)
  const ca1 = await readFile(first.cert)
  const ca2 = await readFile(second.cert)

  const s1 = await handshake(httpsPort, ca1)
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(s1.getProtocol() as string))
  assert.equal(s1.getPeerCertificate().subject.CN, 'first')
  s1.end()
  await assert.rejects(handshake(httpsPort, ca1, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }), 'TLS 1.1 is refused')

  // Plain HTTP redirects API calls to HTTPS; probes stay on HTTP.
  const redirect = await request(`http://127.0.0.1:${httpPort}/api/v1/meta/version?x=1`)
  await redirect.body.dump()
  assert.equal(redirect.statusCode, 308)
  assert.equal(redirect.headers.location, `https://127.0.0.1:${httpsPort}/api/v1/meta/version?x=1`)
  const probe = await request(`http://127.0.0.1:${httpPort}/health`)
  await probe.body.dump()
  assert.equal(probe.statusCode, 200)

  // A kept-alive HTTPS connection, then a certificate swap and SIGHUP.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
  const before = await get(agent, httpsPort, ca1, '/api/v1/meta/version')
  assert.equal(before.status, 200)
  assert.equal(JSON.parse(before.body).api_version, 'v1')
  await rename(second.cert, live.cert)
  await rename(second.key, live.key)
  g.child.kill('SIGHUP')
  await g.waitFor(/TLS certificate reloaded/)
  const during = await get(agent, httpsPort, ca1, '/api/v1/meta/version')
  assert.equal(during.status, 200)
  assert.equal(during.reused, true, 'the established connection was not dropped')
  agent.destroy()
  const s2 = await handshake(httpsPort, ca2)
  assert.equal(s2.getPeerCertificate().subject.CN, 'second', 'new handshakes get the new certificate')
  s2.end()
  await assert.rejects(handshake(httpsPort, ca1), 'the old certificate is no longer served')

  // A broken replacement keeps the working certificate.
  execFileSync('sh', ['-c', `echo broken > ${live.cert}`])
  g.child.kill('SIGHUP')
  await g.waitFor(/TLS certificate reload failed; keeping the previous one/)
  const s3 = await handshake(httpsPort, ca2)
  assert.equal(s3.getPeerCertificate().subject.CN, 'second')
  s3.end()
  assert.equal(await g.stop(), 0)
})

test('SIGHUP without TLS is logged, not fatal', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-hup-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const g = spawnGateway(t, { DATA_DIR: dir, HTTP_PORT: String(port) })
  await g.waitFor(/gateway listening/)
  g.child.kill('SIGHUP')
  await g.waitFor(/nothing to reload/)
  const res = await request(`http://127.0.0.1:${port}/health`)
  await res.body.dump()
  assert.equal(res.statusCode, 200)
  assert.equal(await g.stop(), 0)
})
