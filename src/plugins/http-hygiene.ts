/**
 * Request ids, trusted hosts and security headers now live in the request pipeline
 * (src/pipeline/identify.ts and respond.ts) and src/http/security-headers.ts; this module keeps
 * the names its importers (the admin UI, tests) use.
 */
export { requestIdFrom, SECURITY_HEADERS, API_CSP, DOCS_CSP, ADMIN_CSP } from '../http/security-headers.js'
