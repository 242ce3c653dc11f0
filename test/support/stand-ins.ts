/**
 * Stand-ins for the gateway's upstreams (CONTRACT.md section 6), used by the tests and by
 * `npm run dev:stack`: an echo server (the TRON payment service and node management are opaque
 * to the gateway) and an in-memory lucid_blocks that mines a block every few seconds.
 * Real node:http servers on loopback ports — never mocks of the HTTP client.
 */
import http from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import { WebSocketServer } from 'ws'

export interface SeenRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body_bytes: number
  body_sha256: string
  body_text?: string
}

export interface StandIn {
  url: string
  port: number
  requests: SeenRequest[]
  /** URLs of requests whose client went away before the response finished. */
  aborted: string[]
  /** Make /health (and optionally every route) fail, as a sick upstream would. */
  setHealthy(healthy: boolean, allRoutes?: boolean): void
  close(): Promise<void>
}

async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, process.env.STANDIN_HOST ?? '127.0.0.1', () => resolve()))
  return (server.address() as { port: number }).port
}

/**
 * Echo: answers every request with what it saw. Special paths for tests:
 * `/status/NNN`, `/slow?ms=N`, `/big?bytes=N` (streams N bytes), `/drip?ms=N` (headers, then a
 * slow body). Upgrades to WebSocket echo messages back.
 */
export async function startEchoServer(opts: { name?: string; port?: number } = {}): Promise<StandIn> {
  const requests: SeenRequest[] = []
  const aborted: string[] = []
  let healthy = true
  let allFail = false
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(req.url ?? '')
    })
    if (url.pathname === '/health') {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ status: healthy ? 'healthy' : 'unhealthy', service: opts.name ?? 'echo' }))
    }
    const hash = createHash('sha256')
    let bytes = 0
    const keep: Buffer[] = []
    req.on('data', (c: Buffer) => {
      bytes += c.length
      hash.update(c)
      if (bytes <= 64 * 1024) keep.push(c)
    })
    req.on('end', async () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body_bytes: bytes,
        body_sha256: hash.digest('hex')
      }
      if (bytes <= 64 * 1024) seen.body_text = Buffer.concat(keep).toString('utf8')
      requests.push(seen)
      if (allFail) {
        res.writeHead(503, { 'content-type': 'application/json' })
        return res.end('{"error":"down"}')
      }
      const status = /^\/.*\/status\/(\d{3})$/.exec(url.pathname)?.[1]
      if (url.pathname.endsWith('/slow'))
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 1000)))
      if (url.pathname.endsWith('/big')) {
        const total = Number(url.searchParams.get('bytes') ?? 0)
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(total),
          server: 'stand-in/1.0',
          'x-powered-by': 'node'
        })
        const chunk = Buffer.alloc(64 * 1024, 0x61)
        let sent = 0
        const pump = () => {
          while (sent < total) {
            const n = Math.min(chunk.length, total - sent)
            sent += n
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump)
          }
          res.end()
        }
        return pump()
      }
      if (url.pathname.endsWith('/drip')) {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('start\n')
        return setTimeout(() => res.end('end\n'), Number(url.searchParams.get('ms') ?? 1000))
      }
      res.writeHead(status !== undefined ? Number(status) : 200, {
        'content-type': 'application/json',
        server: 'stand-in/1.0',
        'x-powered-by': 'node',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'must-not-pass',
        'x-upstream-own': 'kept'
      })
      res.end(JSON.stringify({ service: opts.name ?? 'echo', ...seen, headers: req.headers }))
    })
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      requests.push({ method: 'UPGRADE', url: req.url ?? '', headers: req.headers, body_bytes: 0, body_sha256: '' })
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary }))
    })
  })
  const port = await listen(server, opts.port)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    aborted,
    setHealthy(h, all = false) {
      healthy = h
      allFail = !h && all
    },
    close: () =>
      new Promise<void>((resolve) => {
        wss.close()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

interface Tx {
  transaction_id: string
  type: string
  data: unknown
  signature: string | null
  status: 'pending' | 'confirmed' | 'failed'
  block_height: number | null
  confirmed_at: string | null
  submitted_at: string
}

interface Block {
  block_id: string
  height: number
  hash: string
  previous_hash: string
  timestamp: string
  merkle_root: string
  transactions: Tx[]
}

export interface LucidBlocksStandIn extends StandIn {
  chain: Block[]
  /** Mines one block now with every pending transaction. */
  mine(): Block
  /** Replaces the block at `height` (and drops later ones): a reorganisation. */
  reorg(height: number): void
}

/** In-memory lucid_blocks with the API of CONTRACT.md section 6. */
export async function startLucidBlocks(
  opts: { port?: number; blockIntervalMs?: number } = {}
): Promise<LucidBlocksStandIn> {
  const requests: SeenRequest[] = []
  const chain: Block[] = []
  const txs = new Map<string, Tx>()
  let pending: Tx[] = []
  let healthy = true
  let allFail = false
  const sha = (s: string) => createHash('sha256').update(s).digest('hex')
  const mine = (salt = ''): Block => {
    const prev = chain[chain.length - 1]
    const height = prev === undefined ? 0 : prev.height + 1
    const timestamp = new Date().toISOString()
    const included = pending
    pending = []
    for (const t of included) {
      t.status = 'confirmed'
      t.block_height = height
      t.confirmed_at = timestamp
    }
    const merkle_root = sha(included.map((t) => t.transaction_id).join('') + salt)
    const previous_hash = prev?.hash ?? '0'.repeat(64)
    const hash = sha(`${height}${previous_hash}${merkle_root}${timestamp}${salt}`)
    const block: Block = { block_id: hash, height, hash, previous_hash, timestamp, merkle_root, transactions: included }
    chain.push(block)
    return block
  }
  mine()
  const timer = setInterval(() => mine(), opts.blockIntervalMs ?? 3_000)
  timer.unref()

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => (raw += c))
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body_bytes: raw.length,
        body_sha256: sha(raw),
        body_text: raw
      })
      const url = new URL(req.url ?? '/', 'http://x')
      const p = url.pathname
      if (p === '/health')
        return send(res, healthy ? 200 : 503, { status: healthy ? 'healthy' : 'unhealthy', service: 'lucid_blocks' })
      if (allFail) return send(res, 503, { error: 'unavailable' })
      if (req.method === 'GET' && p === '/api/v1/chain/info') {
        const tip = chain[chain.length - 1]
        return send(res, 200, {
          network: 'lucid_blocks',
          height: tip.height,
          latest_hash: tip.hash,
          pending_transactions: pending.length
        })
      }
      if (req.method === 'GET' && p === '/api/v1/chain/blocks') {
        const from = Number(url.searchParams.get('from_height') ?? 0)
        const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 20))
        return send(res, 200, {
          blocks: chain.filter((b) => b.height >= from).slice(0, limit),
          height: chain[chain.length - 1].height
        })
      }
      const blockMatch = /^\/api\/v1\/chain\/blocks\/([^/]+)$/.exec(p)
      if (req.method === 'GET' && blockMatch !== null) {
        const id = decodeURIComponent(blockMatch[1])
        const b = /^\d+$/.test(id) ? chain[Number(id)] : chain.find((x) => x.hash === id)
        return b === undefined ? send(res, 404, { error: 'block not found' }) : send(res, 200, b)
      }
      if (req.method === 'POST' && p === '/api/v1/chain/transactions') {
        let body: { type?: string; data?: unknown; signature?: string }
        try {
          body = JSON.parse(raw)
        } catch {
          return send(res, 400, { error: 'invalid JSON' })
        }
        if (typeof body.type !== 'string' || body.data === undefined)
          return send(res, 422, { error: 'type and data are required' })
        const tx: Tx = {
          transaction_id: randomUUID(),
          type: body.type,
          data: body.data,
          signature: body.signature ?? null,
          status: 'pending',
          block_height: null,
          confirmed_at: null,
          submitted_at: new Date().toISOString()
        }
        txs.set(tx.transaction_id, tx)
        pending.push(tx)
        return send(res, 202, { transaction_id: tx.transaction_id, status: 'pending' })
      }
      const txMatch = /^\/api\/v1\/chain\/transactions\/([^/]+)$/.exec(p)
      if (req.method === 'GET' && txMatch !== null) {
        const tx = txs.get(txMatch[1])
        return tx === undefined
          ? send(res, 404, { error: 'transaction not found' })
          : send(res, 200, {
              transaction_id: tx.transaction_id,
              type: tx.type,
              status: tx.status,
              block_height: tx.block_height,
              confirmed_at: tx.confirmed_at
            })
      }
      send(res, 404, { error: 'not found' })
    })
  })
  const port = await listen(server, opts.port)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    aborted: [],
    chain,
    mine: () => mine(),
    reorg(height) {
      chain.splice(height)
      mine(`reorg-${Date.now()}`)
    },
    setHealthy(h, all = false) {
      healthy = h
      allFail = !h && all
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer)
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
