/**
 * The steady mixed load of `npm run chaos`: an open loop (requests start on a schedule, whether or
 * not earlier ones have finished) spread round-robin over the gateway instances, from several
 * loopback client addresses: proxied GETs, POSTs with an Idempotency-Key, chunk uploads, new
 * recording sessions and wallet logins. Every answer is recorded with its phase; every write the
 * gateway acknowledged is kept for verify.ts. A separate probe sends one client's requests above
 * its rate limit, for the over-admission count.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { addressFromPublicKey, signTip191 } from '../../src/crypto/tron.js'

export type Kind = 'proxy_get' | 'idem_post' | 'chunk' | 'session' | 'login' | 'probe'

export interface Sample {
  kind: Kind
  phase: string
  /** ms since the run started */
  at: number
  ms: number
  /** HTTP status, or 0 when no answer came (connection refused or reset, timeout). */
  status: number
  code?: string
  instance: number
}

export interface User {
  token: string
  agent: Agent
  sessions: { id: string; next: number }[]
}

export interface Acked {
  chunks: { phase: string; session: string; index: number; sha256: string; token: string }[]
  sessions: { phase: string; id: string; name: string; token: string }[]
  idem: { phase: string; key: string; body: string; status: number; response: string; token: string }[]
  logins: { phase: string; token: string }[]
}

export interface LoadOptions {
  urls: string[]
  users: User[]
  /** Requests per second over all kinds. */
  rate: number
  now(): number
  phase(): string
}

const MIX: [Kind, number][] = [
  ['proxy_get', 0.35],
  ['idem_post', 0.2],
  ['chunk', 0.25],
  ['session', 0.05],
  ['login', 0.1]
]
const CHUNK_BYTES = 16 * 1024
const LOGIN_IPS = Array.from({ length: 128 }, (_, i) => `127.0.3.${i + 1}`)

const agents = new Map<string, Agent>()
export function agentFor(ip: string): Agent {
  let a = agents.get(ip)
  if (a === undefined) {
    a = new Agent({ localAddress: ip, connections: 32, keepAliveTimeout: 4_000 })
    agents.set(ip, a)
  }
  return a
}

export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close().catch(() => undefined)))
}

/** One HTTP call: status 0 when nothing came back; the envelope code when there is one. */
export async function call(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent: Agent }
): Promise<{ status: number; code?: string; text: string; headers: Record<string, unknown> }> {
  try {
    const res = await request(url, {
      method: (o.method ?? 'GET') as 'GET',
      headers: o.headers,
      body: o.body,
      dispatcher: o.agent,
      headersTimeout: 15_000,
      bodyTimeout: 15_000
    })
    const text = await res.body.text()
    let code: string | undefined
    if (res.statusCode >= 400) code = (/"code":"(LUCID_ERR_\d+)"/.exec(text) ?? [])[1]
    return { status: res.statusCode, code, text, headers: res.headers }
  } catch (err) {
    const e = err as { code?: string; name?: string }
    return { status: 0, code: e.code ?? e.name, text: '', headers: {} }
  }
}

export async function walletLogin(
  base: string,
  agent: Agent
): Promise<{ status: number; code?: string; token?: string }> {
  const priv = secp256k1.utils.randomSecretKey()
  const address = addressFromPublicKey(secp256k1.getPublicKey(priv, false))
  const json = { 'content-type': 'application/json' }
  const ch = await call(`${base}/api/v1/auth/challenge`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ tron_address: address }),
    agent
  })
  if (ch.status !== 200) return ch
  const c = JSON.parse(ch.text) as { nonce: string; message: string }
  const li = await call(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      tron_address: address,
      nonce: c.nonce,
      signature: signTip191(c.message, Buffer.from(priv).toString('hex'))
    }),
    agent
  })
  return {
    status: li.status,
    code: li.code,
    token: li.status === 200 ? (JSON.parse(li.text) as { access_token: string }).access_token : undefined
  }
}

export function startLoad(o: LoadOptions): { samples: Sample[]; acked: Acked; stop(): Promise<void> } {
  const samples: Sample[] = []
  const acked: Acked = { chunks: [], sessions: [], idem: [], logins: [] }
  const inFlight = new Set<Promise<void>>()
  let n = 0
  let stopped = false

  async function one(kind: Kind): Promise<void> {
    const instance = n++ % o.urls.length
    const base = o.urls[instance]
    const user = o.users[Math.floor(Math.random() * o.users.length)]
    const auth = { authorization: `Bearer ${user.token}` }
    const phase = o.phase()
    const at = o.now()
    const t0 = performance.now()
    let r: { status: number; code?: string }
    if (kind === 'proxy_get') {
      r = await call(`${base}/api/v1/wallets/balance/${n}`, { headers: auth, agent: user.agent })
    } else if (kind === 'idem_post') {
      const key = randomUUID()
      const body = JSON.stringify({ amount: n, to: 'chaos' })
      const res = await call(`${base}/api/v1/wallets/payments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
        body,
        agent: user.agent
      })
      if (res.status >= 200 && res.status < 300)
        acked.idem.push({ phase, key, body, status: res.status, response: res.text, token: user.token })
      r = res
    } else if (kind === 'chunk') {
      const s = user.sessions[Math.floor(Math.random() * user.sessions.length)]
      const index = s.next++
      const bytes = randomBytes(CHUNK_BYTES)
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      r = await call(`${base}/api/v1/sessions/${s.id}/chunks`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'x-chunk-index': String(index),
          'x-chunk-sha256': sha256
        },
        body: bytes,
        agent: user.agent
      })
      if (r.status === 200 || r.status === 201)
        acked.chunks.push({ phase, session: s.id, index, sha256, token: user.token })
    } else if (kind === 'session') {
      const name = `chaos-${n}`
      const res = await call(`${base}/api/v1/sessions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
        agent: user.agent
      })
      if (res.status === 201)
        acked.sessions.push({
          phase,
          id: (JSON.parse(res.text) as { session_id: string }).session_id,
          name,
          token: user.token
        })
      r = res
    } else {
      const li = await walletLogin(base, agentFor(LOGIN_IPS[n % LOGIN_IPS.length]))
      if (li.token !== undefined) acked.logins.push({ phase, token: li.token })
      r = li
    }
    samples.push({ kind, phase, at, ms: performance.now() - t0, status: r.status, code: r.code, instance })
  }

  const pick = (): Kind => {
    let x = Math.random()
    for (const [k, w] of MIX) if ((x -= w) < 0) return k
    return 'proxy_get'
  }
  // Open loop, with a ceiling so a dead dependency cannot pile up unbounded work in the harness.
  const tick = setInterval(() => {
    for (let i = 0; i < o.rate / 20 && !stopped; i++) {
      if (inFlight.size >= 256) break
      const p = one(pick()).finally(() => inFlight.delete(p))
      inFlight.add(p)
    }
  }, 50)

  return {
    samples,
    acked,
    async stop() {
      stopped = true
      clearInterval(tick)
      await Promise.all([...inFlight])
    }
  }
}

/**
 * One client above its limit: `perS` requests a second to the rate-limited probe route, spread
 * over the instances, from `ip`. Counts what was admitted between `start` and `stop`.
 */
export function startProbe(o: {
  urls: string[]
  ip: string
  perS: number
  phase: string
  now(): number
  samples: Sample[]
}): { stop(): Promise<{ admitted: number; spanMs: number }> } {
  let admitted = 0
  let i = 0
  let first = Number.NaN
  let last = Number.NaN
  const pending = new Set<Promise<void>>()
  const agent = agentFor(o.ip)
  const timer = setInterval(() => {
    const instance = i++ % o.urls.length
    const at = o.now()
    const t0 = performance.now()
    if (Number.isNaN(first)) first = at
    last = at
    const p = call(`${o.urls[instance]}/api/v1/meta/version`, { agent }).then((r) => {
      if (r.status === 200) admitted++
      o.samples.push({
        kind: 'probe',
        phase: o.phase,
        at,
        ms: performance.now() - t0,
        status: r.status,
        code: r.code,
        instance
      })
    })
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }, 1000 / o.perS)
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all([...pending])
      return { admitted, spanMs: Number.isNaN(first) ? 0 : last - first }
    }
  }
}
