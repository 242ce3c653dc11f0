/**
 * The upstream of `npm run chaos`, a process of its own (so the load generator's loop is not the
 * upstream's): GETs answer JSON, POSTs answer 201 with a fresh execution id (a replay that differs
 * is then visible) and are counted per Idempotency-Key. The parent switches modes over IPC:
 * `ok`, `slow` (every answer delayed by `ms`), `fail` (503, /health too) and `down` (not listening:
 * connection refused). It answers `{ executions }` to `{ stats: true }`.
 */
import http from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'

type Mode = 'ok' | 'slow' | 'fail' | 'down'
let mode: Mode = 'ok'
let delayMs = 0
const executions: Record<string, number> = {}
const sockets = new Set<Socket>()
const port = Number(process.argv[2] ?? 0)

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const answer = () => {
      if (res.destroyed) return
      if (mode === 'fail') {
        res.writeHead(503, { 'content-type': 'application/json' })
        return res.end('{"status":"unavailable"}')
      }
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end('{"status":"healthy"}')
      }
      if (req.method === 'POST') {
        const key = String(req.headers['idempotency-key'] ?? '')
        if (key !== '') executions[key] = (executions[key] ?? 0) + 1
        const body = Buffer.concat(chunks)
        res.writeHead(201, { 'content-type': 'application/json' })
        return res.end(
          JSON.stringify({
            execution_id: randomUUID(),
            key,
            body_sha256: createHash('sha256').update(body).digest('hex')
          })
        )
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ path: req.url, at: Date.now() }))
    }
    if (mode === 'slow' && delayMs > 0) setTimeout(answer, delayMs)
    else answer()
  })
})
server.keepAliveTimeout = 5_000
server.on('connection', (s) => {
  sockets.add(s)
  s.on('close', () => sockets.delete(s))
})

function listen(): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()))
}

process.on('message', (m: { mode?: Mode; ms?: number; stats?: boolean }) => {
  if (m.stats === true) return process.send?.({ executions })
  const next = m.mode ?? mode
  delayMs = m.ms ?? delayMs
  if (next === 'down' && mode !== 'down') {
    server.close()
    for (const s of sockets) s.destroy()
  } else if (next !== 'down' && mode === 'down') {
    void listen()
  }
  mode = next
  process.send?.({ mode })
})
process.on('disconnect', () => process.exit(0))

await listen()
process.send?.({ port: (server.address() as { port: number }).port })
