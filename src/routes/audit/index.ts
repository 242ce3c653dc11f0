/**
 * The audit log for admins (issue 7): filtered listing, chain verification and the head hash.
 * There is no write route: entries are appended by the actions themselves, never edited.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { MAX_PAGE, pagination, PaginationSchema, withErrors } from '../../schemas/common.js'
import { GENESIS_HASH, verifyAuditChain } from '../../data/repositories/audit.js'
import { auditReads } from '../audit-reads.js'

const AuditEntrySchema = Type.Object({
  audit_id: Type.Integer(),
  occurred_at: Type.String({ format: 'date-time' }),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  actor_role: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target_type: Type.Union([Type.String(), Type.Null()]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  prev_hash: Type.String(),
  hash: Type.String()
})

const LogQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    action: Type.Optional(Type.String({ pattern: '^[a-z_.]{1,64}$', description: 'exact action, or a prefix ending in "." (e.g. "auth.")' })),
    actor_id: Type.Optional(Type.String({ format: 'uuid' })),
    target_type: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
    target_id: Type.Optional(Type.String({ maxLength: 200 })),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' }))
  },
  { additionalProperties: false }
)

export default async function auditRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  auditReads(app, 'audit')
  const tags = ['audit']
  const adminOnly = { onRequest: [app.authenticate, app.requireRole('admin')] }

  app.get('/logs', { ...adminOnly, schema: { tags, summary: 'Audit entries, newest first (admin)', querystring: LogQuerySchema, response: withErrors({ 200: Type.Object({ entries: Type.Array(AuditEntrySchema), pagination: PaginationSchema }) }) } }, async (request) => {
    const q = request.query
    const where: string[] = []
    const params: unknown[] = []
    const add = (sql: string, v: unknown) => {
      params.push(v)
      where.push(sql.replace('?', `$${params.length}`))
    }
    if (q.action?.endsWith('.') === true) add('action LIKE ?', `${q.action}%`)
    else if (q.action !== undefined) add('action = ?', q.action)
    if (q.actor_id !== undefined) add('actor_id = ?', q.actor_id)
    if (q.target_type !== undefined) add('target_type = ?', q.target_type)
    if (q.target_id !== undefined) add('target_id = ?', q.target_id)
    if (q.outcome !== undefined) add('outcome = ?', q.outcome)
    if (q.from !== undefined) add('occurred_at >= ?', q.from)
    if (q.to !== undefined) add('occurred_at < ?', q.to)
    const w = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`
    const [rows, count] = await Promise.all([
      app.db.query<Static<typeof AuditEntrySchema>>(
        `SELECT audit_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at, actor_id::text AS actor_id, actor_role, action,
                target_type, target_id, outcome, ip, request_id, details, prev_hash, hash
           FROM audit_log ${w} ORDER BY audit_id DESC LIMIT ${q.limit} OFFSET ${(q.page - 1) * q.limit}`,
        params
      ),
      app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log ${w}`, params)
    ])
    return { entries: rows.rows.map((r) => ({ ...r, audit_id: Number(r.audit_id) })), pagination: pagination(q.page, q.limit, Number(count.rows[0].n)) }
  })

  app.get('/verify', { ...adminOnly, schema: { tags, summary: 'Recompute the hash chain; reports the first broken entry (admin)', response: withErrors({ 200: Type.Object({ valid: Type.Boolean(), entries: Type.Integer(), root: Type.String(), first_invalid_id: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()) }) }) } }, async (request) => {
    const r = await verifyAuditChain(app.db)
    await app.audit(request, { action: 'audit.verified', target_type: 'audit_log', details: { valid: r.valid, entries: r.entries, first_invalid_id: r.first_invalid_id ?? null } })
    return r
  })

  app.get('/root', { ...adminOnly, schema: { tags, summary: 'Head of the hash chain, to anchor on lucid_blocks (admin)', response: withErrors({ 200: Type.Object({ root: Type.String(), audit_id: Type.Integer(), entries: Type.Integer(), at: Type.Union([Type.String(), Type.Null()]) }) }) } }, async () => {
    const { rows } = await app.db.query<{ hash: string; audit_id: number; at: string; n: number }>(
      `SELECT hash, audit_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, (SELECT count(*)::int FROM audit_log) AS n FROM audit_log ORDER BY audit_id DESC LIMIT 1`
    )
    const head = rows[0]
    return head === undefined ? { root: GENESIS_HASH, audit_id: 0, entries: 0, at: null } : { root: head.hash, audit_id: Number(head.audit_id), entries: Number(head.n), at: head.at }
  })
}
