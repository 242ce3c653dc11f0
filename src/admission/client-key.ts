/**
 * Who counts as one client for admission. IPv4 addresses count one by one; IPv6 addresses by their
 * /64, because one subscriber is routinely given a whole /64 and could otherwise open 2^64 "clients"
 * (issue 12 finding 10 makes the same point for rate limits). IPv4-mapped IPv6 is plain IPv4.
 */
import { isIPv6 } from 'node:net'

function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right]
}

/**
 * `ipv6PrefixBits` (1–128, default 64; RATE_LIMIT_IPV6_PREFIX for the limiter) is how many leading
 * bits of an IPv6 address name the client; 128 counts every address on its own.
 */
export function clientKey(ip: string, ipv6PrefixBits = 64): string {
  const bare = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
  if (!isIPv6(bare)) return bare
  const expanded = expandIPv6(bare.split('%')[0])
  if (ipv6PrefixBits === 64) {
    return `${expanded
      .slice(0, 4)
      .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
      .join(':')}::/64`
  }
  let n = 0n
  for (const g of expanded) n = (n << 16n) | BigInt(parseInt(g, 16) || 0)
  const masked = ipv6PrefixBits >= 128 ? n : (n >> BigInt(128 - ipv6PrefixBits)) << BigInt(128 - ipv6PrefixBits)
  const groups = Array.from({ length: 8 }, (_v, i) => ((masked >> BigInt(112 - 16 * i)) & 0xffffn).toString(16))
  return `${groups.join(':')}/${ipv6PrefixBits}`
}
