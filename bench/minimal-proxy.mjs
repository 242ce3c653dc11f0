// The floor of issue 15: node:http server + undici Pool.stream, hop-by-hop headers stripped,
// nothing else (no auth, no limit, no logging). What any Node proxy on this machine can reach.
import http from 'node:http'
import { Pool } from 'undici'
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host'
])
const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)))
const pool = new Pool(process.env.UPSTREAM, { connections: 64, pipelining: 1 })
http
  .createServer((req, res) => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : req
    pool.stream(
      { method: req.method, path: req.url, headers: strip(req.headers), body },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, strip(headers))
        return res
      },
      (err) => {
        if (err && !res.headersSent) res.writeHead(502).end()
        else if (err) res.destroy()
      }
    )
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'))
