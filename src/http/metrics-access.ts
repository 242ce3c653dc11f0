/**
 * Who may read /metrics (issue 12 finding 10: it was public and names upstream hosts). Two
 * options, combinable: METRICS_TOKEN makes every scrape present `Authorization: Bearer <token>`,
 * and METRICS_PORT moves the endpoint to its own listener (METRICS_HOST, default 127.0.0.1) so
 * only the pod network or the host reaches it; the API port then answers 404 for /metrics.
 */
import http from 'node:http'
import { createHash, timingSafeEqual } from 'node:crypto'
import { envelope } from '../errors.js'

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/** True when `header` is `Bearer <token>`; hashed first so the compare is constant-time at any length. */
export function bearerMatches(header: string | string[] | undefined, token: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false
  return timingSafeEqual(digest(header.slice(7)), digest(token))
}

export interface MetricsServerOptions {
  host: string
  port: number
  token?: string
  contentType: string
  /** The exposition text (prom-client's `registry.metrics()`). */
  render(): Promise<string>
}

/** A plain node:http listener answering GET /metrics only; resolves once listening. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const id = crypto.randomUUID()
    const fail = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': id })
      res.end(JSON.stringify(envelope(id, code, message)))
    }
    if ((req.url ?? '').split('?')[0] !== '/metrics') return fail(404, 'LUCID_ERR_4001', 'Route not found')
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'LUCID_ERR_4003', 'Method not allowed')
    if (opts.token !== undefined && !bearerMatches(req.headers.authorization, opts.token)) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"')
      return fail(401, 'LUCID_ERR_2001', 'Authentication required')
    }
    opts.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': opts.contentType, 'x-request-id': id })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => fail(500, 'LUCID_ERR_5001', 'Internal server error')
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => resolve())
  })
  return server
}
