/**
 * Request headers a client can forge to change what the gateway or an upstream decides (issue 12
 * finding 7): method overrides (`X-HTTP-Method-Override: DELETE` on a GET reached node management
 * past the write-role check), client-address claims and URL rewrites honoured by some frameworks.
 * They are removed from every request before any hook reads it, and never forwarded; the
 * gateway re-sets X-Forwarded-For/-Proto/-Host from its own view (src/proxy/headers.ts).
 */
import type { IncomingHttpHeaders } from 'node:http'

const ALWAYS = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-real-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-original-host',
  'x-host',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'forwarded',
  'front-end-https',
  'x-url-scheme'
])
/** What Fastify's trustProxy reads, and only from a configured proxy. */
const FROM_TRUSTED_PROXY = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'])

export function isSpoofable(name: string): boolean {
  return ALWAYS.has(name) || (name.startsWith('x-forwarded-') && !FROM_TRUSTED_PROXY.has(name))
}

/**
 * Deletes spoofable headers in place. X-Forwarded-For/-Host/-Proto are kept only when the peer
 * is a configured proxy (TRUST_PROXY); every other X-Forwarded-* (Port, Prefix, Server, Ssl …)
 * and Forwarded always go. Returns the names removed (for the log, never the values).
 */
export function stripSpoofable(headers: IncomingHttpHeaders, peerTrusted: boolean): string[] {
  const removed: string[] = []
  for (const name of Object.keys(headers)) {
    if (isSpoofable(name) || (!peerTrusted && FROM_TRUSTED_PROXY.has(name))) {
      delete headers[name]
      removed.push(name)
    }
  }
  return removed
}
