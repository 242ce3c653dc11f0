import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const ErrorEnvelopeSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ pattern: '^LUCID_ERR_\\d{4}$', examples: ['LUCID_ERR_4001'] }),
      message: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
      request_id: Type.String(),
      timestamp: Type.String({ format: 'date-time' }),
      service: Type.Literal('api-gateway'),
      version: Type.Literal('v1')
    })
  },
  { $id: 'ErrorEnvelope', description: 'Every error from every layer (CONTRACT.md section 3)' }
)
export type ErrorEnvelopeBody = Static<typeof ErrorEnvelopeSchema>

const ErrorRef = Type.Ref(ErrorEnvelopeSchema)

/** Response map for a route: its success schemas plus the error envelope for 4xx and 5xx. */
export function withErrors<T extends Record<number, TSchema>>(
  success: T
): T & { '4xx': typeof ErrorRef; '5xx': typeof ErrorRef } {
  return { ...success, '4xx': ErrorRef, '5xx': ErrorRef }
}

export const UuidSchema = Type.String({ format: 'uuid' })

/** Highest `page` a list accepts (issue 12 finding 10: an unbounded page reached SQL as a 500). */
export const MAX_PAGE = 1_000_000

export const PaginationQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 }))
})

export const PaginationSchema = Type.Object({
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
  pages: Type.Integer()
})

export function pagination(page: number, limit: number, total: number): Static<typeof PaginationSchema> {
  return { page, limit, total, pages: Math.ceil(total / limit) }
}
