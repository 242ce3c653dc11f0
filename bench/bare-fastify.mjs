// The baseline of issue 9: Fastify 5 + @fastify/reply-from, no auth, no limit, no logging.
import Fastify from 'fastify'
import replyFrom from '@fastify/reply-from'
const app = Fastify({ logger: false })
await app.register(replyFrom, { base: process.env.UPSTREAM, undici: { connections: 64, pipelining: 1 } })
app.all('/*', (req, reply) => reply.from(req.url))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.send?.('ready')
