/**
 * Stage 6, respond: what every answer carries, errors and 404s included (onSend runs for those
 * too): the request id, the security headers of CONTRACT.md section 5 with the CSP of the API or
 * of the docs pages (a route that set its own CSP keeps it), `Connection: close` while draining
 * or after an error answered before the body was read, and Server-Timing when granted.
 * Framework-free: the pipeline applies the header set this returns.
 */
import { API_RESPONSE_HEADERS, DOCS_RESPONSE_HEADERS, SECURITY_HEADERS } from '../http/security-headers.js'

/** Header name/value pairs, built once: every response sets the same static values. */
export type HeaderList = readonly (readonly [string, string])[]

const list = (h: Readonly<Record<string, string>>): HeaderList =>
  Object.freeze(Object.entries(h).map((e) => Object.freeze(e)))
const SECURITY = list(SECURITY_HEADERS)
const API = list(API_RESPONSE_HEADERS)
const DOCS = list(DOCS_RESPONSE_HEADERS)

/** The security headers for a response to `url`, with the API's or the docs' CSP unless the route set its own. */
export function createResponseHeaders(docsPrefix: string): (url: string, ownCsp: boolean) => HeaderList {
  const docsSub = `${docsPrefix}/`
  return (url, ownCsp) => {
    if (ownCsp) return SECURITY
    return url === docsPrefix || url.startsWith(docsSub) ? DOCS : API
  }
}
