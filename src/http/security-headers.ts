/**
 * The security headers of CONTRACT.md section 5 and the request id, shared by every path that
 * answers a client: the request pipeline (src/pipeline/respond.ts), the framework-error and
 * client-error answers, and the WebSocket upgrade (which writes on the raw socket).
 */

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** Fastify `genReqId`: echo a well-formed X-Request-ID, otherwise make a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : crypto.randomUUID()
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'geolocation=(), microphone=(), camera=(), payment=(), usb=()',
  'cross-origin-resource-policy': 'same-site'
})
export const API_CSP = "default-src 'none'; frame-ancestors 'none'"
// The docs page loads its own scripts, styles and images; nothing from elsewhere.
export const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// The operator dashboard (issue 18): its own scripts and styles only, nothing inline, and it may
// talk only to this origin; no frames, no forms posting elsewhere, no base-URI tricks.
export const ADMIN_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The security headers plus the API's CSP: what every gateway-made answer carries. */
export const API_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'content-security-policy': API_CSP
})
/** The same for the docs pages. */
export const DOCS_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'content-security-policy': DOCS_CSP
})
