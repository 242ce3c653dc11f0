/**
 * /api/v1/database/collections: tables and their indexes. A name is looked up in user_data first,
 * then among the gateway's own tables, which are read-only here; every name in a body or path
 * matches IDENT (src/data/ddl.ts) before any SQL is built.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { DEFAULT_COLUMNS, identifier } from '../../data/ddl.js'
import { USER_SCHEMA, type DatabaseCatalogRepository } from '../../data/repositories/database-catalog.js'
import { requireConfirm } from '../shared/request.js'
import { confirmedDeleteSchema, createSchema } from '../shared/schema.js'
import {
  CollectionSchema,
  CountSchema,
  CreateCollectionBody,
  CreateIndexBody,
  IndexParams,
  IndexSchema,
  NameParams,
  ReindexSchema,
  RenameCollectionBody,
  ValidationSchema
} from './schema.js'

export default async function collectionRoutes(
  fastify: FastifyInstance,
  opts: { catalog: DatabaseCatalogRepository }
): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'database')
  const { catalog } = opts

  /** Where a collection lives: user_data first, then the gateway's own (read-only) tables. */
  async function resolve(name: string): Promise<{ schema: string; readOnly: boolean }> {
    const schema = await catalog.locate(name)
    if (schema === null) throw new LucidError('NOT_FOUND', `Collection ${name} not found`)
    return { schema, readOnly: schema !== USER_SCHEMA }
  }
  async function writable(name: string): Promise<void> {
    if ((await resolve(name)).readOnly)
      throw new LucidError('FORBIDDEN', `${name} is one of the gateway's own tables: read-only through this API`)
  }
  async function oneIndex(schema: string, table: string, name: string) {
    const [i] = await catalog.indexes(schema, table, name)
    if (i === undefined) throw new LucidError('NOT_FOUND', `Index ${name} not found on ${table}`)
    return i
  }
  const audit = (request: FastifyRequest, action: string, target: string, details: Record<string, unknown> = {}) =>
    app.audit(request, { action: `database.${action}`, target_type: 'collection', target_id: target, details })

  app.get(
    '/collections',
    admin({
      summary: "Tables: user_data (writable) and the gateway's own (read-only)",
      response: withErrors({ 200: Type.Object({ collections: Type.Array(CollectionSchema) }) })
    }),
    async () => ({ collections: await catalog.listCollections() })
  )

  app.get(
    '/collections/:name',
    admin({
      summary: 'One table with its columns',
      params: NameParams,
      response: withErrors({ 200: CollectionSchema })
    }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      const [c] = await catalog.listCollections({ schema, name: request.params.name })
      return { ...c, columns: await catalog.columns(schema, request.params.name) }
    }
  )

  app.post(
    '/collections',
    superAdmin(
      createSchema(
        'Create a table in user_data (super_admin). Without columns: id uuid, data jsonb, created_at',
        CreateCollectionBody,
        CollectionSchema
      )
    ),
    async (request, reply) => {
      const { name } = request.body
      if (await catalog.nameTaken(name))
        throw new LucidError(
          'ALREADY_EXISTS',
          `A collection named ${name} exists (names are unique across user_data and the gateway's tables)`
        )
      const columns = request.body.columns ?? DEFAULT_COLUMNS
      await catalog.createTable(name, columns)
      await audit(request, 'collection_created', name, { columns: columns.map((c) => `${c.name} ${c.type}`) })
      const [c] = await catalog.listCollections({ schema: USER_SCHEMA, name })
      return reply.code(201).send(c)
    }
  )

  app.put(
    '/collections/:name',
    superAdmin({
      errors: [409],
      summary: 'Rename a user_data table (super_admin)',
      params: NameParams,
      body: RenameCollectionBody,
      response: withErrors({ 200: CollectionSchema })
    }),
    async (request) => {
      const { new_name: newName } = request.body
      await writable(request.params.name)
      if (await catalog.nameTaken(newName))
        throw new LucidError('ALREADY_EXISTS', `A collection named ${newName} exists`)
      identifier(newName, 'new_name')
      await catalog.renameTable(request.params.name, newName)
      await audit(request, 'collection_renamed', request.params.name, { new_name: newName })
      const [c] = await catalog.listCollections({ schema: USER_SCHEMA, name: newName })
      return c
    }
  )

  app.delete(
    '/collections/:name',
    superAdmin(confirmedDeleteSchema('Drop a user_data table (super_admin, confirm=true)', NameParams)),
    async (request, reply) => {
      requireConfirm(request)
      await writable(request.params.name)
      await catalog.dropTable(request.params.name)
      await audit(request, 'collection_dropped', request.params.name)
      return reply.code(204).send(null)
    }
  )

  app.get(
    '/collections/:name/count',
    admin({ summary: 'Exact row count', params: NameParams, response: withErrors({ 200: CountSchema }) }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      return { name: request.params.name, count: await catalog.countRows(schema, request.params.name) }
    }
  )

  app.post(
    '/collections/:name/validate',
    admin({
      summary: 'Constraint and index checks',
      params: NameParams,
      response: withErrors({ 200: ValidationSchema })
    }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      const checks = await catalog.validate(schema, request.params.name)
      return { name: request.params.name, valid: checks.every((c) => c.ok), checks }
    }
  )

  app.get(
    '/collections/:name/indexes',
    admin({
      summary: 'Indexes with usage statistics',
      params: NameParams,
      response: withErrors({ 200: Type.Object({ indexes: Type.Array(IndexSchema) }) })
    }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      return { indexes: await catalog.indexes(schema, request.params.name) }
    }
  )

  app.get(
    '/collections/:name/indexes/:index_name',
    admin({
      summary: 'One index with usage statistics',
      params: IndexParams,
      response: withErrors({ 200: IndexSchema })
    }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      return oneIndex(schema, request.params.name, request.params.index_name)
    }
  )

  app.post(
    '/collections/:name/indexes',
    superAdmin({
      ...createSchema(
        'Create an index on a user_data table (super_admin); CONCURRENTLY on PostgreSQL',
        CreateIndexBody,
        IndexSchema
      ),
      params: NameParams
    }),
    async (request, reply) => {
      const table = request.params.name
      await writable(table)
      const { columns, unique, where } = request.body
      const name = request.body.name ?? `${table}_${columns.map((c) => c.name).join('_')}_idx`.slice(0, 63)
      identifier(name, 'index name')
      const known = new Set((await catalog.columns(USER_SCHEMA, table)).map((c) => c.name))
      for (const c of [...columns.map((c) => c.name), ...(where ? [where.column] : [])])
        if (!known.has(c)) throw new LucidError('INVALID_REQUEST', `Column ${c} does not exist on ${table}`)
      // Duplicate rows under a unique index: 409, mapped by src/errors/domain.ts.
      await catalog.createIndex(table, { name, columns, unique, where })
      await audit(request, 'index_created', table, { index: name, unique })
      return reply.code(201).send(await oneIndex(USER_SCHEMA, table, name))
    }
  )

  app.delete(
    '/collections/:name/indexes/:index_name',
    superAdmin(confirmedDeleteSchema('Drop an index of a user_data table (super_admin, confirm=true)', IndexParams)),
    async (request, reply) => {
      requireConfirm(request)
      await writable(request.params.name)
      const i = await oneIndex(USER_SCHEMA, request.params.name, request.params.index_name)
      if (i.primary) throw new LucidError('INVALID_REQUEST', 'The primary key index cannot be dropped')
      await catalog.dropIndex(i.name)
      await audit(request, 'index_dropped', request.params.name, { index: i.name })
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/collections/:name/reindex',
    superAdmin({
      summary: 'Rebuild every index of a table (super_admin); CONCURRENTLY on PostgreSQL',
      params: NameParams,
      response: withErrors({ 200: ReindexSchema })
    }),
    async (request) => {
      const { schema } = await resolve(request.params.name)
      await catalog.reindexTable(schema, request.params.name)
      await audit(request, 'reindexed', request.params.name)
      return { name: request.params.name, indexes: (await catalog.indexes(schema, request.params.name)).length }
    }
  )
}
