// The baseline of issue 9: Fastify 5 + @fastify/reply-from, no auth, no limit, no logging.
// GET /__json answers a local JSON body the size of the gateway's GET /users/me (issue 15's
// "local JSON routes ≥ 1.0× bare Fastify serving a JSON route of the same size").
import Fastify from 'fastify'
import replyFrom from '@fastify/reply-from'
const app = Fastify({ logger: false })
await app.register(replyFrom, { base: process.env.UPSTREAM, undici: { connections: 64, pipelining: 1 } })
const me = {
  user_id: '913d3f81-0201-4af9-980b-50f8b0615767',
  email: null,
  tron_address: 'TJpy5u8cHaGHCDfrLYSy6XqkH4LjGVBoav',
  wallet_type: 'software',
  username: null,
  role: 'user',
  status: 'active',
  email_verified: false,
  totp_enabled: false,
  locked_until: null,
  wallet_verified_at: '2026-12-03T12:00:00.000Z',
  created_at: '2026-12-03T12:00:00.000Z',
  updated_at: '2026-12-03T12:00:00.000Z',
  last_login_at: '2026-12-03T12:00:00.000Z'
}
app.get('/__json', () => me)
app.all('/*', (req, reply) => reply.from(req.url))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.send?.('ready')
// A normal exit on SIGTERM, so `node --cpu-prof` writes its profile (bench/profile.ts).
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
