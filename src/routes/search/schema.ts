/** Search request and response schemas. */
import { Type } from '@sinclair/typebox'
import { SEARCH_INDEX_NAMES } from '../../data/repositories/search.js'

export const IndexName = Type.Union(SEARCH_INDEX_NAMES.map((n) => Type.Literal(n)))
const Query = Type.String({ minLength: 1, maxLength: 200 })
const FieldName = Type.String({ pattern: '^[a-z_]{1,40}$' })
const FieldValue = Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])
const Size = Type.Integer({ minimum: 1, maximum: 100, default: 20 })
const From = Type.Integer({ minimum: 0, maximum: 10_000, default: 0 })
const Sort = Type.Union([Type.Literal('relevance'), Type.Literal('newest'), Type.Literal('oldest')], {
  default: 'relevance'
})

export const QueryBody = Type.Object(
  {
    query: Query,
    index: Type.Optional(IndexName),
    filters: Type.Optional(Type.Record(FieldName, FieldValue)),
    size: Size,
    from: From,
    sort: Sort
  },
  { additionalProperties: false }
)
export const IndexQuerystring = Type.Object(
  { query: Query, size: Size, from: From, sort: Sort },
  { additionalProperties: false }
)
export const SuggestQuerystring = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 50 }),
    index: IndexName,
    size: Type.Integer({ minimum: 1, maximum: 20, default: 10 })
  },
  { additionalProperties: false }
)
export const AggregateBody = Type.Object(
  {
    index: IndexName,
    field: Type.Optional(FieldName),
    interval: Type.Optional(Type.Union(['hour', 'day', 'week', 'month'].map((i) => Type.Literal(i)))),
    query: Type.Optional(Query),
    size: Size
  },
  { additionalProperties: false }
)

// A document is the row of whichever index matched: its columns differ by index.
const HitSchema = Type.Object({
  index: Type.String(),
  id: Type.String(),
  score: Type.Number(),
  title: Type.Union([Type.String(), Type.Null()]),
  highlight: Type.String(),
  document: Type.Record(Type.String(), Type.Unknown())
})
export const ResultSchema = Type.Object({ hits: Type.Array(HitSchema), total: Type.Integer(), took_ms: Type.Number() })
export const IndicesSchema = Type.Object({
  indices: Type.Array(
    Type.Object({ name: Type.String(), documents: Type.Integer(), fields: Type.Array(Type.String()) })
  ),
  suggestions: Type.String()
})
export const SuggestionsSchema = Type.Object({
  suggestions: Type.Array(Type.Object({ text: Type.String(), documents: Type.Integer() }))
})
export const BucketsSchema = Type.Object({
  index: Type.String(),
  buckets: Type.Array(Type.Object({ key: Type.Union([Type.String(), Type.Null()]), count: Type.Integer() }))
})
export const ReindexedSchema = Type.Object({ reindexed: Type.Array(Type.String()) })
