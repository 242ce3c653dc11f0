/**
 * Session helpers the sessions and manifests route groups share (route folders never import
 * each other, issue 16): the Manifest schema registered once for `Type.Ref`, `app.visibleSession`
 * (the access rule is `services.sessions.visible`) and `app.manifestBody`.
 *
 * `sessionsRepo`, `sessionsService` and `chunkStore` are aliases of `app.repos.sessions`,
 * `app.services.sessions` and `app.services.chunkStore`, kept only because routes/manifests (owned
 * by another change) still reads them; delete them when it reads the services.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ChunkStore } from '../../chunks/chunk-store.js'
import type { ManifestRow, SessionRow, SessionsRepository } from '../../data/repositories/sessions.js'
import type { SessionsService } from '../../services/sessions.js'
import { ManifestSchema, toManifest } from './schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The session if the caller owns it or is an admin; 404 otherwise (ids cannot be probed).
     * With intent 'write', an admin acting on another user's session must also pass mayManage
     * (403 on an admin's or super_admin's session, issue 12 finding 8).
     */
    visibleSession(request: FastifyRequest, id: string, intent?: 'read' | 'write'): Promise<SessionRow>
    manifestBody(m: ManifestRow): Promise<ReturnType<typeof toManifest>>
    /** Alias of app.repos.sessions for routes/manifests. */
    sessionsRepo: SessionsRepository
    /** Alias of app.services.sessions for routes/manifests. */
    sessionsService: SessionsService
    /** Alias of app.services.chunkStore for routes/manifests. */
    chunkStore: ChunkStore
  }
}

export default fp(
  async function sessionHelpers(app: FastifyInstance): Promise<void> {
    const repo = app.repos.sessions
    const sessions = app.services.sessions
    app.addSchema(ManifestSchema)
    app.decorate('visibleSession', (request: FastifyRequest, id: string, intent: 'read' | 'write' = 'read') => sessions.visible(request.user!, id, intent))
    app.decorate('manifestBody', async (m: ManifestRow) => toManifest(m, (await repo.chunks(m.session_id)).rows))
    app.decorate('sessionsRepo', repo)
    app.decorate('sessionsService', sessions)
    app.decorate('chunkStore', app.services.chunkStore)
  },
  { name: 'lucid-session-helpers', dependencies: ['lucid-auth', 'lucid-services'] }
)
