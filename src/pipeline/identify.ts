/**
 * Stage 2, identify: which request this is and from where, before any decision reads it. The path
 * `rewriteUrl` could not normalise safely (src/http/path.ts) is refused; spoofable headers are
 * stripped (issue 12 finding 7: method overrides, client-address claims, X-Forwarded-* of
 * untrusted peers); the Host must be allowed (CONTRACT.md section 3). The client address itself
 * is Fastify's `request.ip` (trustProxy). Plain HTTP is redirected to HTTPS when configured.
 * Framework-free: the pipeline passes the raw request and the host name.
 */
import type { IncomingMessage } from 'node:http'
import type { TrustProxy } from '../config.js'
import { LucidError } from '../errors.js'
import { refusedPath, pathOf } from '../http/path.js'
import { createHostCheck } from '../http/hosts.js'
import { stripSpoofable } from '../http/spoofable.js'
import { createProxyTrust } from '../http/client-address.js'

export interface IdentifyOptions {
  allowedHosts: readonly string[]
  trustProxy: TrustProxy
}

/** Returns the refusal for a request that must not go further, undefined otherwise. */
export function createIdentify(
  opts: IdentifyOptions
): (req: IncomingMessage, hostname: string) => LucidError | undefined {
  const hostAllowed = createHostCheck(opts.allowedHosts)
  const trusted = createProxyTrust(opts.trustProxy)
  return (req, hostname) => {
    const badPath = refusedPath(req)
    if (badPath !== undefined) return new LucidError('INVALID_REQUEST', `Path not allowed: ${badPath}`, { status: 400 })
    stripSpoofable(req.headers, trusted(req.socket?.remoteAddress ?? '', 0))
    const host = hostname.toLowerCase()
    if (!hostAllowed(host))
      return new LucidError('INVALID_REQUEST', 'Host not allowed', { status: 400, details: { host } })
    return undefined
  }
}

export interface HttpsRedirectOptions {
  publicUrl?: string
  httpsPort: number
}

// What probes and Prometheus call over the pod network stays on plain HTTP.
const REDIRECT_EXEMPT = new Set(['/health', '/ready', '/metrics'])

/** The HTTPS Location for a plain-HTTP request, or undefined when it stays (TLS already, or exempt). */
export function createHttpsRedirect(
  opts: HttpsRedirectOptions
): (req: IncomingMessage, url: string, hostname: string) => string | undefined {
  // PUBLIC_URL's host when set, so a forged Host header cannot choose the redirect target.
  const fixedHost = opts.publicUrl !== undefined ? new URL(opts.publicUrl).host : undefined
  const port = opts.httpsPort === 443 ? '' : `:${opts.httpsPort}`
  return (req, url, hostname) => {
    if ((req.socket as { encrypted?: boolean }).encrypted === true || REDIRECT_EXEMPT.has(pathOf(url))) return undefined
    return `https://${fixedHost ?? `${hostname}${port}`}${url}`
  }
}
