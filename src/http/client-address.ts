/**
 * The client address as Fastify's `trustProxy` computes `request.ip`, for paths outside Fastify's
 * request lifecycle (the WebSocket upgrade): the first untrusted hop of X-Forwarded-For, or the
 * socket peer when it is not a configured proxy. Uses the same library Fastify does.
 */
import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { TrustProxy } from '../config.js'

export interface ClientAddress {
  ip: string
  /** The socket peer is a configured proxy, so its X-Forwarded-* headers are believed. */
  peerTrusted: boolean
  /** The believed X-Forwarded-For hops, client first (what `request.ips` holds, reversed, minus the peer). */
  forwardedFor: string[]
}

/** Whether an address (hop `i`, 0 = the socket peer) is a configured proxy, as Fastify decides. */
export function createProxyTrust(trustProxy: TrustProxy): (addr: string, i: number) => boolean {
  if (trustProxy === true) return () => true
  if (typeof trustProxy === 'number') return (_a, i) => i < trustProxy
  if (trustProxy === false || trustProxy.length === 0) return () => false
  return proxyAddr.compile(trustProxy)
}

export function createClientAddress(trustProxy: TrustProxy): (req: IncomingMessage) => ClientAddress {
  const trust = createProxyTrust(trustProxy)
  return (req) => {
    const peer = req.socket.remoteAddress ?? ''
    const hops = proxyAddr.all(req, trust)
    return {
      ip: hops[hops.length - 1] ?? peer,
      peerTrusted: peer !== '' && trust(peer, 0),
      forwardedFor: hops.slice(1).reverse()
    }
  }
}
