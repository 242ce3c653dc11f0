/** OpenAPI 3 generated from the route schemas, at /openapi.json, browsable at /docs. */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { ErrorEnvelopeSchema } from '../schemas/common.js'
import { GATEWAY_VERSION } from '../version.js'

async function docs(app: FastifyInstance, opts: { enabled: boolean }): Promise<void> {
  app.addSchema(ErrorEnvelopeSchema)
  if (!opts.enabled) return
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Lucid API Gateway',
        version: GATEWAY_VERSION,
        description: 'The single entry point of the Lucid system. Errors always use the ErrorEnvelope schema.'
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' }
        }
      }
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false, uiConfig: { docExpansion: 'list', deepLinking: false } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(docs, { name: 'lucid-docs' })
