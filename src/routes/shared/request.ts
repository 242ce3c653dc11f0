/**
 * Request helpers every route group may use (route folders never import each other, issue 16).
 */
import type { FastifyRequest } from 'fastify'
import { LucidError } from '../../errors.js'
import type { ClientInfo } from '../../services/auth/common.js'

export type { ClientInfo }

/** Destructive operations demand `confirm=true` in the query or the body. */
export function requireConfirm(request: FastifyRequest): void {
  const q = request.query as { confirm?: boolean } | undefined
  const b = request.body as { confirm?: boolean } | undefined
  if (q?.confirm !== true && b?.confirm !== true) {
    throw new LucidError('INVALID_REQUEST', 'This operation is destructive: repeat it with confirm=true', {
      details: { confirm: 'required' }
    })
  }
}

/** Who sent the request, as the auth service records it on login sessions and codes. */
export const clientInfo = (request: FastifyRequest): ClientInfo => ({
  ip: request.ip,
  userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
  requestId: request.id
})
