/**
 * A real OTLP/HTTP receiver on a loopback port: decodes the export requests the gateway's exporter
 * sends, protobuf (`application/x-protobuf`, the default) or JSON (`application/json`: hex ids,
 * enum kinds, typed attribute values), into flat spans. `mode` makes it a healthy collector, one
 * that answers 503, or one that hangs without answering.
 */
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export type AttrValue = string | number | boolean | AttrValue[] | undefined

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  /** 1 internal, 2 server, 3 client (OTLP SpanKind). */
  kind: number
  attributes: Record<string, AttrValue>
  status: { code?: number; message?: string }
  resource: Record<string, AttrValue>
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const

export interface OtlpReceiver {
  /** Base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string
  spans: ReceivedSpan[]
  /** Export requests received (hung ones included). */
  requests: number
  /** Content type of each decoded export request, in order. */
  contentTypes: string[]
  /** Why export requests could not be decoded (answered 400); waitFor fails on the first. */
  decodeErrors: string[]
  mode: 'ok' | 'fail' | 'hang'
  /** Waits until `pred` holds for the spans received so far. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>
  close(): Promise<void>
}

interface OtlpValue {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: OtlpValue[] }
}

function value(v: OtlpValue | undefined): AttrValue {
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value)
  return undefined
}

const attrs = (list: { key: string; value: OtlpValue }[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]))

function fromJson(body: Buffer, spans: ReceivedSpan[]): void {
  const req = JSON.parse(body.toString('utf8'))
  for (const rs of req.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          attributes: attrs(s.attributes),
          status: s.status ?? {},
          resource
        })
      }
    }
  }
}

/**
 * The protobuf wire format, just enough of it for ExportTraceServiceRequest
 * (opentelemetry/proto/collector/trace/v1/trace_service.proto and the messages it holds): every
 * field of a message as [field number, value], a varint as a bigint, a length-delimited field as
 * its bytes (strings, bytes and nested messages alike), fixed64 as its 8 bytes. Throws on a
 * truncated or malformed body, so a broken export fails the test that waits for it.
 */
type Field = [number, bigint | Buffer]

function fields(buf: Buffer): Field[] {
  const out: Field[] = []
  let pos = 0
  const varint = (): bigint => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length || shift > 63n) throw new Error('protobuf: bad varint')
      const b = buf[pos++]
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
    }
  }
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error('protobuf: truncated field')
    pos += n
    return buf.subarray(pos - n, pos)
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const wire = tag & 7
    const num = tag >>> 3
    if (wire === 0) out.push([num, varint()])
    else if (wire === 1) out.push([num, take(8)])
    else if (wire === 2) out.push([num, take(Number(varint()))])
    else if (wire === 5) out.push([num, take(4)])
    else throw new Error(`protobuf: wire type ${wire}`)
  }
  return out
}

const bytesOf = (v: bigint | Buffer): Buffer => {
  if (typeof v === 'bigint') throw new Error('protobuf: expected a length-delimited field')
  return v
}

function anyValue(buf: Buffer): AttrValue {
  // AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue { 1 repeated AnyValue }.
  for (const [num, v] of fields(buf)) {
    if (num === 1) return bytesOf(v).toString('utf8')
    if (num === 2) return v === 1n
    if (num === 3) return Number(BigInt.asIntN(64, v as bigint))
    if (num === 4) return bytesOf(v).readDoubleLE(0)
    if (num === 5) return fields(bytesOf(v)).map(([, item]) => anyValue(bytesOf(item)))
  }
  return undefined
}

function keyValues(list: Buffer[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {}
  for (const kv of list) {
    // KeyValue: 1 key, 2 value.
    let key = ''
    let val: AttrValue
    for (const [num, v] of fields(kv)) {
      if (num === 1) key = bytesOf(v).toString('utf8')
      else if (num === 2) val = anyValue(bytesOf(v))
    }
    out[key] = val
  }
  return out
}

const repeated = (fs: Field[], num: number): Buffer[] => fs.filter(([n]) => n === num).map(([, v]) => bytesOf(v))

function fromProtobuf(body: Buffer, spans: ReceivedSpan[]): void {
  // ExportTraceServiceRequest: 1 ResourceSpans { 1 Resource { 1 attributes }, 2 ScopeSpans { 2 Span } }.
  for (const rs of repeated(fields(body), 1)) {
    const rsFields = fields(rs)
    const resource = keyValues(repeated(fields(repeated(rsFields, 1)[0] ?? Buffer.alloc(0)), 1))
    for (const ss of repeated(rsFields, 2)) {
      for (const raw of repeated(fields(ss), 2)) {
        // Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes, 15 Status { 2 message, 3 code }.
        const f = fields(raw)
        const one = (num: number) => f.find(([n]) => n === num)?.[1]
        const status: ReceivedSpan['status'] = {}
        const st = one(15)
        if (st !== undefined) {
          for (const [num, v] of fields(bytesOf(st))) {
            if (num === 2) status.message = bytesOf(v).toString('utf8')
            else if (num === 3) status.code = Number(v)
          }
        }
        const hex = (num: number) => {
          const v = one(num)
          return v === undefined ? '' : bytesOf(v).toString('hex')
        }
        spans.push({
          traceId: hex(1),
          spanId: hex(2),
          parentSpanId: hex(4),
          name: bytesOf(one(5) ?? Buffer.alloc(0)).toString('utf8'),
          kind: Number(one(6) ?? 0n),
          attributes: keyValues(repeated(f, 9)),
          status,
          resource
        })
      }
    }
  }
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const hung: http.ServerResponse[] = []
  const r: OtlpReceiver = {
    endpoint: '',
    spans,
    requests: 0,
    contentTypes: [],
    decodeErrors: [],
    mode: 'ok',
    async waitFor(pred, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs
      while (!pred(spans)) {
        if (r.decodeErrors.length > 0) throw new Error(`undecodable export request: ${r.decodeErrors[0]}`)
        if (Date.now() > end)
          throw new Error(
            `spans not received in ${timeoutMs} ms; got ${JSON.stringify(spans.map((s) => `${s.name}|${s.traceId}`))}`
          )
        await sleep(25)
      }
      return spans
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      r.requests++
      if (r.mode === 'hang') return void hung.push(res)
      const type = String(req.headers['content-type'])
      const protobuf = type.startsWith('application/x-protobuf')
      if (r.mode === 'fail' || req.url !== '/v1/traces' || (!protobuf && !type.startsWith('application/json'))) {
        res.writeHead(r.mode === 'fail' ? 503 : 415).end()
        return
      }
      const body = Buffer.concat(parts)
      const got: ReceivedSpan[] = []
      try {
        if (protobuf) fromProtobuf(body, got)
        else fromJson(body, got)
      } catch (err) {
        // A body the receiver cannot decode is the exporter's bug: a collector answers 400.
        r.decodeErrors.push(`${type}: ${(err as Error).message}`)
        res.writeHead(400).end()
        return
      }
      spans.push(...got)
      r.contentTypes.push(type)
      if (protobuf) {
        // An empty ExportTraceServiceResponse, in the request's encoding.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  r.endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return r
}

/** The env of a gateway exporting to `receiver` quickly (short batch delay), sampling everything. */
export function tracingEnv(receiver: { endpoint: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '20',
    OTEL_SERVICE_NAME: 'gateway-under-test',
    ...extra
  }
}
