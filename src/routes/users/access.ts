/**
 * Who may see a user and how a change is recorded, shared by the self-service (me.ts) and the
 * admin routes (index.ts) of /api/v1/users.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import { roleAtLeast } from '../../auth/roles.js'
import type { UserRow, UserUpdate } from '../../data/repositories/users.js'

export function userAccess(app: FastifyInstance) {
  const isAdmin = (request: FastifyRequest) => roleAtLeast(request.user!.role, 'admin')
  /** Self or admin; anyone else gets 404 so ids cannot be probed (CONTRACT.md section 3). */
  async function visibleUser(request: FastifyRequest, id: string): Promise<UserRow> {
    const user = id === request.user!.id || isAdmin(request) ? await app.repos.users.findById(id) : null
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    return user
  }
  async function update(
    request: FastifyRequest,
    id: string,
    patch: UserUpdate,
    action: string,
    details: Record<string, unknown> = { fields: Object.keys(patch) }
  ): Promise<UserRow> {
    const user = await app.repos.users.update(id, patch)
    if (user === null) throw new LucidError('NOT_FOUND', 'User not found')
    await app.identity.userChanged(id)
    await app.audit(request, { action, target_type: 'user', target_id: id, details })
    return user
  }
  return { isAdmin, visibleUser, update }
}
