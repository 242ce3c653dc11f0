/**
 * The storage API audits every action (issue 7): writes record their own entries with details;
 * this hook records the reads (GETs, and POSTs that only read, like a search query) of one route
 * group once they succeeded, with the route template and the query parameters' names. `target`
 * names what was read when the route template alone does not (the cache key, issue 12 finding 1).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'

export interface NamedTarget {
  target_type: string
  target_id: string
  details?: Record<string, unknown>
}
export type ReadTarget = (request: FastifyRequest) => NamedTarget | null

export function auditReads(app: FastifyInstance, area: string, readPosts: string[] = [], target?: ReadTarget): void {
  const posts = new Set(readPosts)
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url
    const isRead = request.method === 'GET' || (request.method === 'POST' && route !== undefined && posts.has(route))
    if (!isRead || request.user === undefined || reply.statusCode >= 400) return
    const query = request.query as Record<string, unknown> | undefined
    const named = target?.(request) ?? null
    const params = Object.keys(query ?? {})
    const details = { status: reply.statusCode, params, route: route ?? null, ...named?.details }
    await app.audit(request, {
      action: `${area}.read`,
      target_type: named?.target_type ?? area,
      target_id: named?.target_id ?? route ?? null,
      details
    })
  })
}
