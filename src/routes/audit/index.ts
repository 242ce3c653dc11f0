/**
 * The audit log for admins (issue 7): filtered listing, chain verification and the head hash.
 * There is no write route: entries are appended by the actions themselves, never edited.
 */
import type { FastifyInstance } from 'fastify'
import { routeGroup } from '../shared/route.js'
import { Type, type Static } from '@sinclair/typebox'
import { pagination, PaginationSchema, withErrors } from '../../schemas/common.js'
import { GENESIS_HASH } from '../../data/repositories/audit.js'
import { auditReads } from '../shared/audit-reads.js'
import { AuditEntrySchema, LogQuerySchema } from './schema.js'

export default async function auditRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin } = routeGroup(fastify, 'audit')
  auditReads(app, 'audit')

  app.get(
    '/logs',
    admin({
      summary: 'Audit entries, newest first (admin)',
      querystring: LogQuerySchema,
      response: withErrors({
        200: Type.Object({ entries: Type.Array(AuditEntrySchema), pagination: PaginationSchema })
      })
    }),
    async (request) => {
      const q = request.query
      const { rows, total } = await app.repos.audit.list(q)
      return { entries: rows as Static<typeof AuditEntrySchema>[], pagination: pagination(q.page, q.limit, total) }
    }
  )

  app.get(
    '/verify',
    admin({
      summary: 'Recompute the hash chain; reports the first broken entry (admin)',
      response: withErrors({
        200: Type.Object({
          valid: Type.Boolean(),
          entries: Type.Integer(),
          root: Type.String(),
          first_invalid_id: Type.Optional(Type.Integer()),
          reason: Type.Optional(Type.String())
        })
      })
    }),
    async (request) => {
      const r = await app.repos.audit.verify()
      await app.audit(request, {
        action: 'audit.verified',
        target_type: 'audit_log',
        details: { valid: r.valid, entries: r.entries, first_invalid_id: r.first_invalid_id ?? null }
      })
      return r
    }
  )

  app.get(
    '/root',
    admin({
      summary: 'Head of the hash chain, to anchor on lucid_blocks (admin)',
      response: withErrors({
        200: Type.Object({
          root: Type.String(),
          audit_id: Type.Integer(),
          entries: Type.Integer(),
          at: Type.Union([Type.String(), Type.Null()])
        })
      })
    }),
    async () => {
      const head = await app.repos.audit.head()
      return head === null
        ? { root: GENESIS_HASH, audit_id: 0, entries: 0, at: null }
        : { root: head.hash, audit_id: head.audit_id, entries: head.entries, at: head.at }
    }
  )
}
