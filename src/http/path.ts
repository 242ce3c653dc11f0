/**
 * The one normalised request path (issue 12 finding 2). Rate-limit rules matched the raw URL while
 * the router decoded it, so `/auth/%63hallenge` or `/auth/verify/` reached the handlers of the
 * `auth` bucket without meeting its rule. Every decision (router, limits, roles, proxy) now reads
 * the path this function returns, installed as Fastify's `rewriteUrl` and called by the WebSocket
 * upgrade path too:
 *  - percent-encoded unreserved characters (RFC 3986 section 2.3) are decoded, other escapes keep
 *    their byte with upper-case hex (section 6.2.2.1);
 *  - a trailing `/` is dropped (except for `/` itself), as the router ignores it;
 *  - refused (400): encoded `/` or `\`, raw `\`, NUL, malformed escapes, empty segments (`//`) and
 *    `.`/`..` segments in any spelling, since each would let a path mean one thing here and another
 *    to an upstream's own normaliser.
 * The query string is returned untouched.
 */
export type NormalisedPath = { ok: true; path: string; query: string } | { ok: false; reason: string }

const UNRESERVED = /[A-Za-z0-9\-._~]/
const ESCAPE = /%([0-9A-Fa-f]{2})/g

function normaliseSegment(segment: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(segment)) return undefined
  return segment.replace(ESCAPE, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`
  })
}

export function normalisePath(rawUrl: string): NormalisedPath {
  const q = rawUrl.indexOf('?')
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const query = q === -1 ? '' : rawUrl.slice(q)
  if (!raw.startsWith('/')) return { ok: false, reason: 'path must start with /' }
  if (raw.includes('\\') || /%5c/i.test(raw)) return { ok: false, reason: 'backslash in path' }
  if (/%2f/i.test(raw)) return { ok: false, reason: 'encoded slash in path' }
  if (/%00/.test(raw) || raw.includes('\0')) return { ok: false, reason: 'NUL in path' }
  const parts = raw.split('/').slice(1)
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop()
  const segments: string[] = []
  for (const s of parts) {
    if (s === '' && parts.length > 1) return { ok: false, reason: 'empty path segment' }
    const n = normaliseSegment(s)
    if (n === undefined) return { ok: false, reason: 'malformed percent-encoding' }
    if (n === '.' || n === '..') return { ok: false, reason: 'dot segment in path' }
    segments.push(n)
  }
  return { ok: true, path: `/${segments.join('/')}`, query }
}

/** The path part of an already normalised URL (request.url after `rewriteUrl`). */
export const pathOf = (url: string): string => {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Marks requests whose raw path was refused; `refusedPath` reads the reason back. */
const refused = new WeakMap<object, string>()

/**
 * Fastify `rewriteUrl`: the normalised URL, or the raw one (left for `refusedPath` to answer 400)
 * when the path cannot be normalised safely.
 */
export function rewriteRequestUrl(req: { url?: string }): string {
  const url = req.url ?? '/'
  const n = normalisePath(url)
  if (n.ok) return n.path + n.query
  refused.set(req, n.reason)
  return url
}

export const refusedPath = (req: object): string | undefined => refused.get(req)
