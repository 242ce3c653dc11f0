import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError, validationError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { createSchema, deleteSchema } from '../shared/schema.js'
import { pagination, withErrors } from '../../schemas/common.js'
import { roleAtLeast } from '../../auth/roles.js'
import type { SessionRow, SessionStatus } from '../../data/repositories/sessions.js'
import { assertTransition, MAX_CHUNK_BYTES } from '../../services/sessions.js'
import {
  CreateSessionSchema,
  GIB,
  SessionListQuerySchema,
  SessionListSchema,
  SessionParamsSchema,
  SessionSchema,
  TerminateSchema,
  UpdateSessionSchema,
  ManifestSchema,
  toSession
} from './schema.js'
import chunkRoutes from './chunks.js'

export default async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'sessions')
  const repo = app.repos.sessions
  const svc = app.services.sessions
  const isAdmin = (r: FastifyRequest) => roleAtLeast(r.user!.role, 'admin')

  // Chunk bodies are raw bytes, streamed (never buffered) to the chunk store. Set here, for the
  // whole group, before chunks.ts is registered: that child inherits it.
  app.addContentTypeParser('application/octet-stream', { bodyLimit: MAX_CHUNK_BYTES + 1 }, (_req, payload, done) =>
    done(null, payload)
  )

  app.post(
    '/',
    authed(createSchema('Create a recording session', CreateSessionSchema, SessionSchema)),
    async (request, reply) => {
      const b = request.body
      if ((await repo.countActiveForUser(request.user!.id)) >= app.config.maxSessionsPerUser) {
        throw new LucidError('NOT_ALLOWED', `At most ${app.config.maxSessionsPerUser} sessions per user`, {
          status: 409
        })
      }
      if (b.trust_policy_id !== undefined) await assertOwnPolicy(request, b.trust_policy_id)
      const s = await repo.create({
        session_id: randomUUID(),
        user_id: request.user!.id,
        name: b.name,
        description: b.description ?? null,
        max_size_bytes: b.max_size_bytes ?? 100 * GIB,
        trust_policy_id: b.trust_policy_id ?? null,
        metadata: b.metadata ?? {}
      })
      return reply.code(201).send(toSession(s))
    }
  )

  app.get(
    '/',
    authed({
      errors: [403],
      summary: 'My sessions (admins: any user with user_id); q searches name and description',
      querystring: SessionListQuerySchema,
      response: withErrors({ 200: SessionListSchema })
    }),
    async (request) => {
      const q = request.query
      if (q.user_id !== undefined && !isAdmin(request))
        throw new LucidError('FORBIDDEN', 'Only admins may list other users’ sessions')
      const { rows, total } = await repo.list({
        userId: q.user_id ?? request.user!.id,
        status: q.status as SessionRow['status'] | undefined,
        q: q.q,
        sort: q.sort,
        order: q.order,
        page: q.page,
        limit: q.limit
      })
      return { sessions: rows.map(toSession), pagination: pagination(q.page, q.limit, total) }
    }
  )

  app.get(
    '/:session_id',
    authed({ summary: 'A session', params: SessionParamsSchema, response: withErrors({ 200: SessionSchema }) }),
    async (request) => toSession(await app.visibleSession(request, request.params.session_id))
  )

  app.put(
    '/:session_id',
    authed({
      errors: [403, 409],
      summary: 'Update a session; status=completed builds its manifest',
      params: SessionParamsSchema,
      body: UpdateSessionSchema,
      response: withErrors({ 200: SessionSchema })
    }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id, 'write')
      const { status, trust_policy_id, metadata, ...rest } = request.body
      if (trust_policy_id !== undefined && trust_policy_id !== null)
        await assertOwnPolicy(request, trust_policy_id, s.user_id)
      const fields: Record<string, unknown> = { ...rest }
      if (trust_policy_id !== undefined) fields.trust_policy_id = trust_policy_id
      if (metadata !== undefined) fields.metadata = JSON.stringify(metadata)
      if (Object.keys(fields).length > 0) await repo.update(s.session_id, fields)
      if (status === 'completed') await svc.complete(s.session_id)
      if (status === 'failed') await transition(s, 'failed')
      return current(s)
    }
  )

  app.delete(
    '/:session_id',
    authed({
      errors: [403],
      ...deleteSchema('Soft-delete a session (chunks are purged later by retention)', SessionParamsSchema)
    }),
    async (request, reply) => {
      const s = await app.visibleSession(request, request.params.session_id, 'write')
      await repo.softDelete(s.session_id)
      await app.audit(request, { action: 'session.deleted', target_type: 'session', target_id: s.session_id })
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/:session_id/start',
    authed({
      errors: [403, 409],
      summary: 'initializing → active',
      params: SessionParamsSchema,
      response: withErrors({ 200: SessionSchema })
    }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id, 'write')
      await transition(s, 'active')
      return current(s)
    }
  )

  app.post(
    '/:session_id/terminate',
    authed({
      errors: [403, 409],
      summary: 'End a session without a manifest',
      params: SessionParamsSchema,
      body: TerminateSchema,
      bodyOptional: true,
      response: withErrors({ 200: SessionSchema })
    }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id, 'write')
      await transition(s, 'terminated', { reason: request.body?.reason })
      return current(s)
    }
  )

  await app.register(chunkRoutes)

  app.get(
    '/:session_id/manifest',
    authed({
      summary: 'The manifest of a completed session',
      params: SessionParamsSchema,
      response: withErrors({ 200: Type.Ref(ManifestSchema) })
    }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id)
      const m = await repo.manifestBySession(s.session_id)
      if (m === null) throw new LucidError('NOT_FOUND', 'This session has no manifest yet')
      return app.manifestBody(m)
    }
  )

  /** Moves a session to `to` if its lifecycle allows it (409 otherwise). */
  async function transition(s: SessionRow, to: SessionStatus, extra?: { reason?: string }): Promise<void> {
    assertTransition(s.status, to)
    await repo.setStatus(s.session_id, to, extra)
  }

  /** The session as it is now, after a change. */
  const current = async (s: SessionRow) => toSession((await repo.findVisible(s.session_id)) as SessionRow)

  async function assertOwnPolicy(request: FastifyRequest, policyId: string, ownerId = request.user!.id): Promise<void> {
    const policy = await app.repos.trustPolicies.findById(policyId)
    if (policy === null || policy.user_id !== ownerId)
      throw validationError([{ field: 'trust_policy_id', message: 'no such trust policy of the session owner' }])
  }
}
