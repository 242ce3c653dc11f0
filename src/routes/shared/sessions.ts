/**
 * Session helpers the sessions and manifests route groups share (route folders never import
 * each other, issue 16): the Manifest schema registered once for `Type.Ref`, `app.visibleSession`
 * (the access rule is `services.sessions.visible`) and `app.manifestBody`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ManifestRow, SessionRow } from '../../data/repositories/sessions.js'
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
  }
}

export default fp(
  async function sessionHelpers(app: FastifyInstance): Promise<void> {
    const repo = app.repos.sessions
    const sessions = app.services.sessions
    app.addSchema(ManifestSchema)
    app.decorate('visibleSession', (request: FastifyRequest, id: string, intent: 'read' | 'write' = 'read') =>
      sessions.visible(request.user!, id, intent)
    )
    app.decorate('manifestBody', async (m: ManifestRow) => toManifest(m, (await repo.chunks(m.session_id)).rows))
  },
  { name: 'lucid-session-helpers', dependencies: ['lucid-auth', 'lucid-services'] }
)
