// A minimal OTLP/HTTP receiver for the tracing twin of `npm run bench` (issue 17): accepts JSON
// exports on /v1/traces like a collector, counts spans without decoding them, and reports the
// totals on GET /stats. Cheap on purpose: it shares the load side's core with wrk.
import http from 'node:http'

let requests = 0
let spans = 0
let bytes = 0
const MARK = Buffer.from('"spanId":')

function count(buf) {
  let n = 0
  for (let i = buf.indexOf(MARK); i >= 0; i = buf.indexOf(MARK, i + MARK.length)) n++
  return n
}

http
  .createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ requests, spans, bytes }))
    }
    const parts = []
    req.on('data', (c) => parts.push(c))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      requests++
      bytes += body.length
      spans += count(body)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' })
      res.end('{}')
    })
  })
  .listen(Number(process.env.PORT), '127.0.0.1')
