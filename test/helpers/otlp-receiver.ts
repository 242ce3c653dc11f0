/**
 * A real OTLP/HTTP receiver on a loopback port: decodes the JSON export requests the gateway's
 * exporter sends (OTLP JSON encoding: hex ids, enum kinds, typed attribute values) into flat spans.
 * `mode` makes it a healthy collector, one that answers 503, or one that hangs without answering.
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

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const hung: http.ServerResponse[] = []
  const r: OtlpReceiver = {
    endpoint: '',
    spans,
    requests: 0,
    mode: 'ok',
    async waitFor(pred, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs
      while (!pred(spans)) {
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
      if (
        r.mode === 'fail' ||
        req.url !== '/v1/traces' ||
        !String(req.headers['content-type']).startsWith('application/json')
      ) {
        res.writeHead(r.mode === 'fail' ? 503 : 415).end()
        return
      }
      const body = JSON.parse(Buffer.concat(parts).toString('utf8'))
      for (const rs of body.resourceSpans ?? []) {
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
