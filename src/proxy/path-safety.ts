/**
 * Path safety (issue 5): a proxied request may only reach the upstream path space of its route.
 * Dot segments (raw or percent-encoded, any case), backslashes, empty segments and encoded
 * slashes are refused rather than normalised, so nothing differs between what the gateway
 * checked and what an upstream's own normaliser would make of it.
 */
export type PathVerdict = { ok: true; path: string } | { ok: false; reason: string }

export function checkProxyPath(rawUrl: string, prefix: string): PathVerdict {
  const q = rawUrl.indexOf('?')
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
  if (path.includes('\\') || /%5c/i.test(path)) return { ok: false, reason: 'backslash in path' }
  if (/%2f/i.test(path)) return { ok: false, reason: 'encoded slash in path' }
  if (path.includes('//')) return { ok: false, reason: 'empty path segment' }
  for (const segment of path.split('/')) {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return { ok: false, reason: 'malformed percent-encoding' }
    }
    if (
      decoded === '.' ||
      decoded === '..' ||
      decoded.includes('/') ||
      decoded.includes('\\') ||
      decoded.includes('\0')
    )
      return { ok: false, reason: 'dot segment in path' }
  }
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return { ok: false, reason: 'outside the route prefix' }
  return { ok: true, path }
}
