/**
 * The one place that decides who may do what to whom (CONTRACT.md section 4, issue 12 finding 8).
 * Routes ask these functions instead of comparing roles themselves, so a rule such as "only a
 * super_admin manages admins" cannot hold on one route and be forgotten on the next.
 * Plain module, no Fastify import.
 */
import { LucidError } from '../errors.js'
import type { Role } from '../crypto/tokens.js'
import type { UserRow } from '../data/repositories/users.js'

const RANK: Record<Role, number> = { user: 0, node_operator: 1, admin: 2, super_admin: 3 }

export const roleAtLeast = (role: Role, min: Role): boolean => RANK[role] >= RANK[min]
export const lowerRole = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b)

/** Who acts: the authenticated user (request.user). */
export interface Actor {
  id: string
  role: Role
}

/** Whom they act on: a user row, or just its id and role. */
export interface Target {
  user_id: string
  role: Role
}

/**
 * Whether `actor` may act on `target`'s account, login sessions or API keys: anyone on
 * themselves, a super_admin on everyone, an admin on accounts below admin. An admin can therefore
 * never revoke, unlock, suspend, delete or change the role of another admin or a super_admin.
 */
export function mayManage(actor: Actor, target: Target): boolean {
  if (actor.id === target.user_id) return true
  if (actor.role === 'super_admin') return true
  return roleAtLeast(actor.role, 'admin') && !roleAtLeast(target.role, 'admin')
}

/** Throws 403/2004 unless mayManage(actor, target). */
export function assertMayManage(actor: Actor, target: Target): void {
  if (!mayManage(actor, target)) {
    throw new LucidError('FORBIDDEN', 'Only a super_admin can manage admin and super_admin accounts')
  }
}

/** Whether `actor` may give `role` to an account (only a super_admin grants admin or above). */
export function mayGrant(actor: Actor, role: Role): boolean {
  return roleAtLeast(actor.role, 'admin') && (actor.role === 'super_admin' || !roleAtLeast(role, 'admin'))
}

/** Why a user may not act right now, or null when they may. */
export function userBlockReason(user: UserRow | null, now: number): LucidError | null {
  if (user === null || user.status === 'deleted') return new LucidError('TOKEN_INVALID', 'Account no longer exists')
  if (user.status === 'suspended') return new LucidError('AUTH_REQUIRED', 'Account is suspended')
  if (user.locked_until !== null && user.locked_until.getTime() > now) {
    return new LucidError('ACCOUNT_LOCKED', undefined, { details: { locked_until: user.locked_until.toISOString() } })
  }
  return null
}
