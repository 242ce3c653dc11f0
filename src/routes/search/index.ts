/**
 * /api/v1/search (issue 7): full-text search for admins over sessions, manifests, blocks,
 * transactions, users and the audit log; suggestions use pg_trgm when it is installed, prefix
 * matching otherwise. The SQL is the search repository's (src/data/repositories/search.ts); this
 * file checks that filters and aggregations name fields the index offers.
 */
import type { FastifyInstance } from 'fastify'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { withErrors } from '../../schemas/common.js'
import { fieldsOf, SEARCH_INDEX_NAMES, type SearchQuery } from '../../data/repositories/search.js'
import { auditReads } from '../shared/audit-reads.js'
import {
  AggregateBody,
  BucketsSchema,
  IndexQuerystring,
  IndicesSchema,
  QueryBody,
  ReindexedSchema,
  ResultSchema,
  SuggestionsSchema,
  SuggestQuerystring
} from './schema.js'

/** 422 naming the fields on offer when `field` is not one of the index's. */
function offeredField(index: string, field: string, what: 'filter' | 'field'): void {
  const fields = fieldsOf(index)
  if (!fields.includes(field))
    throw new LucidError('INVALID_REQUEST', `${what} ${field} is not available on ${index} (${fields.join(', ')})`)
}

export default async function searchRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'search')
  const repo = app.repos.search
  auditReads(app, 'search', ['/api/v1/search/query', '/api/v1/search/aggregate'])
  const trigram = await repo.enableTrigram()

  const search = (index: string, q: SearchQuery) => {
    for (const field of Object.keys(q.filters ?? {})) offeredField(index, field, 'filter')
    return repo.search(index, q)
  }

  app.post(
    '/query',
    admin({
      summary: 'Full-text search in one index or all',
      body: QueryBody,
      response: withErrors({ 200: ResultSchema })
    }),
    async (request) => {
      const started = performance.now()
      const body = request.body
      if (body.index !== undefined)
        return { ...(await search(body.index, body)), took_ms: Math.round(performance.now() - started) }
      if (body.filters !== undefined) throw new LucidError('INVALID_REQUEST', 'filters need an index')
      // Across indices: each contributes its best size+from hits, merged by score.
      const parts = await Promise.all(
        SEARCH_INDEX_NAMES.map((n) => search(n, { ...body, from: 0, size: Math.min(100, body.from + body.size) }))
      )
      const hits = parts
        .flatMap((p) => p.hits)
        .sort((a, b) => b.score - a.score)
        .slice(body.from, body.from + body.size)
      return { hits, total: parts.reduce((a, p) => a + p.total, 0), took_ms: Math.round(performance.now() - started) }
    }
  )

  app.get(
    '/indices',
    admin({ summary: 'Searchable indices with document counts', response: withErrors({ 200: IndicesSchema }) }),
    async () => {
      const indices = await Promise.all(
        SEARCH_INDEX_NAMES.map(async (name) => ({
          name,
          documents: await repo.count(name),
          fields: [...fieldsOf(name)]
        }))
      )
      return { indices, suggestions: trigram ? 'pg_trgm' : 'prefix' }
    }
  )

  app.get(
    '/suggest',
    admin({
      summary: 'Words starting like the query (pg_trgm similarity when installed)',
      querystring: SuggestQuerystring,
      response: withErrors({ 200: SuggestionsSchema })
    }),
    async (request) => ({
      suggestions: await repo.suggest(
        request.query.index,
        request.query.query.toLowerCase(),
        request.query.size,
        trigram
      )
    })
  )

  app.post(
    '/aggregate',
    admin({
      summary: 'Counts by field value or by time bucket, optionally within a query',
      body: AggregateBody,
      response: withErrors({ 200: BucketsSchema })
    }),
    async (request) => {
      const { index, field, interval, query, size } = request.body
      if ((field === undefined) === (interval === undefined))
        throw new LucidError('INVALID_REQUEST', 'give exactly one of field or interval')
      if (field !== undefined) offeredField(index, field, 'field')
      return { index, buckets: await repo.aggregate(index, { field, interval, query, size }) }
    }
  )

  app.post(
    '/reindex',
    superAdmin({
      summary: 'Rebuild the full-text indexes (super_admin)',
      response: withErrors({ 200: ReindexedSchema })
    }),
    async (request) => {
      const names = await repo.reindex()
      await app.audit(request, { action: 'search.reindexed', target_type: 'search', details: { indexes: names } })
      return { reindexed: names }
    }
  )

  for (const name of SEARCH_INDEX_NAMES) {
    app.get(
      `/${name}`,
      admin({
        summary: `Search ${name}`,
        querystring: IndexQuerystring,
        response: withErrors({ 200: ResultSchema })
      }),
      async (request) => {
        const started = performance.now()
        return { ...(await search(name, request.query)), took_ms: Math.round(performance.now() - started) }
      }
    )
  }
}
