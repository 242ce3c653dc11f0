/**
 * Trust policies (issue 6): `{name, description?, rules[], enabled}` owned by a user; each carries
 * `policy_hash`, the SHA-256 of its canonical JSON (sorted keys), recomputed on every change so a
 * policy can be referred to by content.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError, validationError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { createSchema, deleteSchema } from '../shared/schema.js'
import { pagination, withErrors, PaginationQuerySchema, PaginationSchema } from '../../schemas/common.js'
import { assertMayManage, roleAtLeast } from '../../auth/roles.js'
import { canonicalJson } from '../../data/repositories/audit.js'
import type { TrustPolicyRow as PolicyRow } from '../../data/repositories/trust-policies.js'
import { PolicyBody, PolicySchema, Params, type PolicyInput } from './schema.js'

const MAX_POLICIES_PER_USER = 50

const toPolicy = (r: PolicyRow) => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString()
})

export function policyHash(p: PolicyInput): string {
  return createHash('sha256')
    .update(canonicalJson({ name: p.name, description: p.description ?? null, rules: p.rules, enabled: p.enabled }))
    .digest('hex')
}

const policyInput = (b: PolicyInput) => ({
  name: b.name,
  description: b.description ?? null,
  rules: b.rules,
  enabled: b.enabled,
  policy_hash: policyHash(b)
})

function checkRules(p: PolicyInput): void {
  const seen = new Set<string>()
  const dup = p.rules.map((r) => r.rule_id).filter((id) => (seen.has(id) ? true : (seen.add(id), false)))
  if (dup.length > 0)
    throw validationError(dup.map((id) => ({ field: 'rules.rule_id', message: `duplicate rule_id "${id}"` })))
}

export default async function trustRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, authed } = routeGroup(fastify, 'trust')

  async function visible(request: FastifyRequest, id: string, intent: 'read' | 'write' = 'read'): Promise<PolicyRow> {
    const p = await app.repos.trustPolicies.findById(id)
    if (p === null || (p.user_id !== request.user!.id && !roleAtLeast(request.user!.role, 'admin')))
      throw new LucidError('NOT_FOUND', 'Trust policy not found')
    // An admin may read anyone's policy but change only those of accounts below admin (roles.ts).
    if (intent === 'write' && p.user_id !== request.user!.id) {
      const owner = await app.identity.user(p.user_id)
      if (owner !== null) assertMayManage(request.user!, owner)
    }
    return p
  }

  app.get(
    '/policies',
    authed({
      summary: 'My trust policies',
      querystring: PaginationQuerySchema,
      response: withErrors({ 200: Type.Object({ policies: Type.Array(PolicySchema), pagination: PaginationSchema }) })
    }),
    async (request) => {
      const page = request.query.page ?? 1
      const limit = request.query.limit ?? 20
      const { rows, total } = await app.repos.trustPolicies.listForUser(request.user!.id, page, limit)
      return { policies: rows.map(toPolicy), pagination: pagination(page, limit, total) }
    }
  )

  app.post(
    '/policies',
    authed(createSchema('Create a trust policy', PolicyBody, PolicySchema)),
    async (request, reply) => {
      checkRules(request.body)
      if ((await app.repos.trustPolicies.countForUser(request.user!.id)) >= MAX_POLICIES_PER_USER)
        throw new LucidError('NOT_ALLOWED', `At most ${MAX_POLICIES_PER_USER} trust policies per user`, { status: 409 })
      const b = request.body
      const row = await app.repos.trustPolicies.create({
        policy_id: randomUUID(),
        user_id: request.user!.id,
        ...policyInput(b)
      })
      return reply.code(201).send(toPolicy(row))
    }
  )

  app.get(
    '/policies/:policy_id',
    authed({ summary: 'A trust policy', params: Params, response: withErrors({ 200: PolicySchema }) }),
    async (request) => toPolicy(await visible(request, request.params.policy_id))
  )

  app.put(
    '/policies/:policy_id',
    authed({
      errors: [403],
      summary: 'Replace a trust policy (policy_hash is recomputed)',
      params: Params,
      body: PolicyBody,
      response: withErrors({ 200: PolicySchema })
    }),
    async (request) => {
      const p = await visible(request, request.params.policy_id, 'write')
      checkRules(request.body)
      const b = request.body
      const row = await app.repos.trustPolicies.replace(p.policy_id, policyInput(b))
      if (row === null) throw new LucidError('NOT_FOUND', 'Trust policy not found')
      return toPolicy(row)
    }
  )

  app.delete(
    '/policies/:policy_id',
    authed({ errors: [403], ...deleteSchema('Delete a trust policy (sessions keep running without it)', Params) }),
    async (request, reply) => {
      const p = await visible(request, request.params.policy_id, 'write')
      await app.repos.trustPolicies.delete(p.policy_id)
      return reply.code(204).send(null)
    }
  )
}
