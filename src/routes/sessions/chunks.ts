import type { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { LucidError, validationError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { pagination, withErrors, PaginationQuerySchema } from '../../schemas/common.js'
import { MAX_CHUNK_BYTES } from '../../services/sessions.js'
import {
  ChunkBodyDoc,
  ChunkDataSchema,
  ChunkHeadersSchema,
  ChunkListSchema,
  ChunkParamsSchema,
  ChunkSchema,
  NotModifiedSchema,
  SessionParamsSchema,
  toChunk
} from './schema.js'

/**
 * /api/v1/sessions/{id}/chunks…: uploading and reading the chunks of a session. The parent
 * (index.ts) registers the application/octet-stream parser this inherits.
 */
export default async function chunkRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'sessions')
  const repo = app.repos.sessions
  const svc = app.services.sessions

  app.post(
    '/:session_id/chunks',
    authed(
      {
        summary:
          'Upload one chunk (raw application/octet-stream body, X-Chunk-Index, optional X-Chunk-SHA256); 10 MiB/s per user',
        description:
          'The session must be active (POST /start first). Re-sending the same bytes for an index is idempotent (200); different bytes are 409/4002.',
        documentedBody: ChunkBodyDoc,
        errors: [403, 409, 507],
        params: SessionParamsSchema,
        headers: ChunkHeadersSchema,
        response: withErrors({ 200: ChunkSchema, 201: ChunkSchema })
      },
      { bodyLimit: MAX_CHUNK_BYTES + 1 }
    ),
    async (request, reply) => {
      if (request.headers['content-type']?.split(';')[0].trim() !== 'application/octet-stream')
        throw new LucidError('INVALID_REQUEST', 'Chunks must be sent as application/octet-stream', { status: 415 })
      const declared = Number(request.headers['content-length'] ?? 0)
      if (declared > MAX_CHUNK_BYTES)
        throw new LucidError('CHUNK_SIZE_LIMIT', `A chunk is at most ${MAX_CHUNK_BYTES} bytes`)
      const s = await app.visibleSession(request, request.params.session_id, 'write')
      const body = request.body as Readable | undefined
      if (body === undefined) throw validationError([{ field: 'body', message: 'must not be empty' }])
      const shaped = await app.rateLimit.shapeUpload(request, body)
      const sha = request.headers['x-chunk-sha256']
      const { chunk, created } = await svc.uploadChunk(
        s,
        Number(request.headers['x-chunk-index']),
        shaped,
        typeof sha === 'string' ? sha.toLowerCase() : undefined
      )
      return reply.code(created ? 201 : 200).send(toChunk(chunk))
    }
  )

  app.get(
    '/:session_id/chunks',
    authed({
      summary: 'Chunks of a session',
      params: SessionParamsSchema,
      querystring: PaginationQuerySchema,
      response: withErrors({ 200: ChunkListSchema })
    }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id)
      const page = request.query.page ?? 1
      const limit = request.query.limit ?? 20
      const { rows, total } = await repo.chunks(s.session_id, { page, limit })
      return { chunks: rows.map(toChunk), pagination: pagination(page, limit, total) }
    }
  )

  app.get(
    '/:session_id/chunks/:index',
    authed({ summary: 'Chunk metadata', params: ChunkParamsSchema, response: withErrors({ 200: ChunkSchema }) }),
    async (request) => {
      const s = await app.visibleSession(request, request.params.session_id)
      const c = await repo.chunk(s.session_id, request.params.index)
      if (c === null) throw new LucidError('NOT_FOUND', 'Chunk not found')
      return toChunk(c)
    }
  )

  app.get(
    '/:session_id/chunks/:index/data',
    authed({
      summary: 'Chunk bytes (streamed, with ETag)',
      params: ChunkParamsSchema,
      produces: ['application/octet-stream'],
      response: withErrors({ 200: ChunkDataSchema, 304: NotModifiedSchema })
    }),
    async (request, reply) => {
      const s = await app.visibleSession(request, request.params.session_id)
      const c = await repo.chunk(s.session_id, request.params.index)
      if (c === null) throw new LucidError('NOT_FOUND', 'Chunk not found')
      const etag = `"${c.sha256}"`
      if (request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send('')
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(c.size_bytes))
        .header('etag', etag)
        .send(app.services.chunkStore.read(s.session_id, c.chunk_index) as unknown as string)
    }
  )
}
