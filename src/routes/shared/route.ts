/**
 * What every route group starts with (issue 16): the TypeBox-typed instance and route options
 * that carry the group's tag and one of the auth guards. The OpenAPI document derives a route's
 * security and its 401/403 statuses from the guard (src/plugins/openapi-transform.ts), so a
 * route declares only what is its own: summary, inputs, responses.
 */
import type { FastifyInstance, FastifySchema, onRequestHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'

export function routeGroup(fastify: FastifyInstance, tag: string) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tags = [tag]
  // `options` are the route's other options (config, bodyLimit).
  const guarded =
    (onRequest: onRequestHookHandler[]) =>
    <S extends FastifySchema, O extends object = object>(schema: S, options?: O) => ({
      ...(options as O),
      onRequest,
      schema: { tags, ...schema }
    })
  return {
    app,
    tags,
    /** No guard: anyone may call it. */
    open: <S extends FastifySchema, O extends object = object>(schema: S, options?: O) => ({
      ...(options as O),
      schema: { tags, ...schema }
    }),
    /** Any signed-in user or API key. */
    authed: guarded([app.authenticate]),
    admin: guarded([app.authenticate, app.requireRole('admin')]),
    superAdmin: guarded([app.authenticate, app.requireRole('super_admin')])
  }
}
