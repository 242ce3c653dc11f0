/**
 * ALLOWED_HOSTS (CONTRACT.md section 3: a Host not allowed → 400/1001), one check for HTTP
 * requests and WebSocket upgrades alike. `*` allows any host; `*.example.com` any subdomain.
 */
export function createHostCheck(allowedHosts: readonly string[]): (hostname: string) => boolean {
  if (allowedHosts.includes('*')) return () => true
  const exact = new Set(allowedHosts)
  const suffixes = allowedHosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1))
  return (hostname) => {
    const host = hostname.toLowerCase()
    return exact.has(host) || suffixes.some((s) => host.endsWith(s))
  }
}

/** The host name of a Host header value, without its port (IPv6 literals keep their brackets). */
export function hostnameOf(hostHeader: string | undefined): string {
  const h = hostHeader ?? ''
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  const colon = h.indexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}
