/** OpenAPI 3.1 generated from the route schemas, at /openapi.json, browsable at /docs. */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { ErrorEnvelopeSchema } from '../schemas/common.js'
import { GATEWAY_VERSION } from '../version.js'
import { documentRoute, finishDocument, type DocumentedRoute } from './openapi-transform.js'

declare module 'fastify' {
  interface FastifySchema {
    /** Error statuses the document lists besides those derived from guards and inputs (openapi-transform.ts). */
    errors?: readonly number[]
    /** The body may be left out: validated as `{}` (json-body.ts), documented as optional. */
    bodyOptional?: boolean
    /** A request body shown in the document but never validated (raw streams such as chunk uploads). */
    documentedBody?: Record<string, unknown>
    /** Responses the handler writes itself (HTML pages), shown in the document, never serialized. */
    documentedResponses?: Record<number, Record<string, unknown>>
  }
}

export interface DocsOptions {
  enabled: boolean
  /** PUBLIC_URL: the server URL in the document; relative ("/") when unset. */
  publicUrl?: string
}

const DESCRIPTION = `The single entry point of the Lucid system.

- **Errors** always use the \`ErrorEnvelope\` schema; codes and statuses are listed in
  \`docs/CONTRACT.md\` of the gateway's repository (section 3), which also describes tokens, limits
  and what the gateway expects of its upstreams.
- **Authentication**: \`Authorization: Bearer <access_token>\` from \`POST /api/v1/auth/login\` or
  \`/verify\`, or \`X-API-Key\` for machine clients. Operations with \`security: []\` are public.
- **Proxied operations** (\`/api/v1/chain\`, \`/wallets\`, \`/nodes\`) pass the upstream's responses
  through unchanged; only the gateway's own errors use the envelope.`

async function docs(app: FastifyInstance, opts: DocsOptions): Promise<void> {
  app.addSchema(ErrorEnvelopeSchema)
  if (!opts.enabled) return
  const upstreamOf = (prefix: string) => app.proxyTable?.routes.find((r) => r.prefix === prefix)?.upstream
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Lucid API Gateway', version: GATEWAY_VERSION, description: DESCRIPTION },
      servers: [
        { url: opts.publicUrl ?? '/', description: opts.publicUrl === undefined ? 'this gateway' : 'PUBLIC_URL' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'access_token from /api/v1/auth/login or /verify (15 minutes)'
          },
          apiKeyAuth: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'a key from POST /api/v1/users/me/api-keys'
          }
        }
      }
    },
    transform: ({ route }) =>
      documentRoute(route as unknown as DocumentedRoute, upstreamOf) as { schema: FastifySchema; url: string },
    transformObject: (doc) =>
      finishDocument((doc as { openapiObject: Record<string, unknown> }).openapiObject) as never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: false,
    uiConfig: { docExpansion: 'list', deepLinking: false, persistAuthorization: false }
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(docs, { name: 'lucid-docs' })
