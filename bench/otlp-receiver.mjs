// A minimal OTLP/HTTP receiver for the tracing twin of `npm run bench` (issue 17): accepts protobuf
// or JSON exports on /v1/traces like a collector, counts spans without decoding them, and reports
// the totals on GET /stats. Cheap on purpose: it shares the load side's core with wrk.
import http from 'node:http'

let requests = 0
let spans = 0
let bytes = 0
const MARK = Buffer.from('"spanId":')
// A protobuf Span opens with trace_id (field 1, 16 bytes: 0a 10 …) then span_id (field 2, 8 bytes: 12 08 …).
const SPAN_ID = Buffer.from([0x12, 0x08])

function count(buf, protobuf) {
  let n = 0
  if (!protobuf) {
    for (let i = buf.indexOf(MARK); i >= 0; i = buf.indexOf(MARK, i + MARK.length)) n++
    return n
  }
  for (let i = buf.indexOf(SPAN_ID, 18); i >= 0; i = buf.indexOf(SPAN_ID, i + 2)) {
    if (buf[i - 18] === 0x0a && buf[i - 17] === 0x10) n++
  }
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
      if (String(req.headers['content-type']).startsWith('application/x-protobuf')) {
        spans += count(body, true)
        // An empty ExportTraceServiceResponse.
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' })
        return res.end()
      }
      spans += count(body, false)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' })
      res.end('{}')
    })
  })
  .listen(Number(process.env.PORT), '127.0.0.1')
