// A minimal node:http JSON upstream for benchmarks (what every peer proxies to).
import http from 'node:http'
const body = JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3] })
http
  .createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'))
