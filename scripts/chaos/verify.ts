/**
 * After the faults: is every write the gateway acknowledged still there and intact? Chunks are
 * read back and hashed, sessions fetched, access tokens used, idempotent POSTs replayed (the
 * replay must be the recorded answer, and the upstream must have executed each key once).
 * Findings are counted per phase of the acknowledgement.
 */
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { agentFor, call, type Acked } from './load.js'

export interface Loss {
  missing: number
  corrupt: number
}

export async function verifyAcked(o: {
  url: string
  acked: Acked
  executions: Record<string, number>
}): Promise<{ byPhase: Record<string, Loss>; details: string[]; checked: number }> {
  const byPhase: Record<string, Loss> = {}
  const details: string[] = []
  const agent = agentFor('127.0.0.9')
  const note = (phase: string, what: 'missing' | 'corrupt', detail: string) => {
    byPhase[phase] ??= { missing: 0, corrupt: 0 }
    byPhase[phase][what]++
    if (details.length < 20) details.push(`${phase}: ${what}: ${detail}`)
  }
  const auth = (token: string) => ({ authorization: `Bearer ${token}` })
  const jobs: (() => Promise<void>)[] = []

  for (const c of o.acked.chunks) {
    jobs.push(async () => {
      const res = await request(`${o.url}/api/v1/sessions/${c.session}/chunks/${c.index}/data`, {
        headers: auth(c.token),
        dispatcher: agent
      })
      const bytes = Buffer.from(await res.body.arrayBuffer())
      if (res.statusCode !== 200) return note(c.phase, 'missing', `chunk ${c.session}/${c.index}: ${res.statusCode}`)
      if (createHash('sha256').update(bytes).digest('hex') !== c.sha256)
        note(c.phase, 'corrupt', `chunk ${c.session}/${c.index}`)
    })
  }
  for (const s of o.acked.sessions) {
    jobs.push(async () => {
      const r = await call(`${o.url}/api/v1/sessions/${s.id}`, { headers: auth(s.token), agent })
      if (r.status !== 200) return note(s.phase, 'missing', `session ${s.id}: ${r.status}`)
      if ((JSON.parse(r.text) as { name: string }).name !== s.name) note(s.phase, 'corrupt', `session ${s.id}`)
    })
  }
  for (const l of o.acked.logins) {
    jobs.push(async () => {
      const r = await call(`${o.url}/api/v1/users/me`, { headers: auth(l.token), agent })
      if (r.status !== 200) note(l.phase, 'missing', `login session: /users/me ${r.status} ${r.code ?? ''}`)
    })
  }
  for (const p of o.acked.idem) {
    jobs.push(async () => {
      const r = await call(`${o.url}/api/v1/wallets/payments`, {
        method: 'POST',
        headers: { ...auth(p.token), 'content-type': 'application/json', 'idempotency-key': p.key },
        body: p.body,
        agent
      })
      if (r.status !== p.status || r.text !== p.response)
        note(
          p.phase,
          r.status >= 500 || r.status === 0 ? 'missing' : 'corrupt',
          `idempotent POST ${p.key} replayed as ${r.status}`
        )
      else if ((o.executions[p.key] ?? 0) !== 1)
        note(p.phase, 'corrupt', `idempotent POST ${p.key} executed ${o.executions[p.key] ?? 0} times upstream`)
    })
  }
  // A few at a time: this is a check, not more load.
  let next = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) await jobs[next++]()
    })
  )
  return { byPhase, details, checked: jobs.length }
}
