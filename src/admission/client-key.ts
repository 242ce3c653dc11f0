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

export function clientKey(ip: string): string {
  const bare = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
  if (!isIPv6(bare)) return bare
  const groups = expandIPv6(bare.split('%')[0])
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
  return `${groups.join(':')}::/64`
}
