import type { FastifyInstance } from 'fastify'
import { withErrors } from '../../schemas/common.js'
import { LucidError } from '../../errors.js'
import { routeGroup } from '../shared/route.js'
import { deleteSchema } from '../shared/schema.js'
import { requireConfirm } from '../shared/request.js'
import { isProtectedKey, namespaceOf } from '../../stores/protected-keys.js'
import {
  FlushBody,
  FlushSchema,
  KeyInfoSchema,
  KeyParams,
  KeysPageSchema,
  KeysQuerystring,
  SetKeyBody
} from './schema.js'

/**
 * /api/v1/cache/keys… and /flush: the state store's keys. Security keys (protected-keys.ts) are
 * never shown, written or flushed here. Reads are audited by the parent's hook (index.ts).
 */
export default async function keyRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'cache')
  const security = [{ bearerAuth: [] }]

  app.get(
    '/keys',
    admin({
      security,
      summary: 'Keys matching a glob (SCAN, never KEYS): namespace, TTL and size, never a value; page with next_cursor',
      querystring: KeysQuerystring,
      response: withErrors({ 200: KeysPageSchema })
    }),
    async (request) => {
      const { pattern, limit } = request.query
      let cursor = request.query.cursor
      const keys: string[] = []
      // SCAN pages may be short or empty; keep going until the page is full or the scan ends.
      for (let rounds = 0; rounds < 50 && keys.length < limit; rounds++) {
        const page = await app.stateStore.scan(pattern, cursor, limit - keys.length)
        keys.push(...page.keys)
        cursor = page.cursor
        if (cursor === '0') break
      }
      const entries = []
      for (const key of keys) {
        const info = await app.stateStore.describe(key, { value: false })
        const sizes = { ttl_ms: info?.ttl_ms ?? null, size_bytes: info?.size_bytes ?? null }
        entries.push({ key, namespace: namespaceOf(key), protected: isProtectedKey(key), ...sizes })
      }
      return { keys: entries, next_cursor: cursor }
    }
  )

  app.get(
    '/keys/:key',
    admin({
      security,
      errors: [403],
      summary: 'Type, TTL and value of one key; 403/2004 for a security key (its value is never shown)',
      params: KeyParams,
      response: withErrors({ 200: KeyInfoSchema })
    }),
    async (request) => {
      const { key } = request.params
      if (isProtectedKey(key)) {
        // Refused before the store is touched, whether or not the key exists; the attempt is audited.
        const namespace = namespaceOf(key)
        const details = { refused: 'security_namespace', namespace }
        const target = { target_type: 'cache_key', target_id: key }
        await app.audit(request, { action: 'cache.read', outcome: 'failure', ...target, details })
        const message = `${namespace} keys hold security state; their values are never shown`
        throw new LucidError('FORBIDDEN', message, { details: { namespace } })
      }
      const info = await app.stateStore.describe(key)
      if (info === null) throw new LucidError('NOT_FOUND', 'Key not found')
      return { ...info, protected: false }
    }
  )

  app.put(
    '/keys/:key',
    superAdmin({
      security,
      errors: [409],
      summary: 'Set a key (super_admin; never a security key)',
      params: KeyParams,
      body: SetKeyBody,
      response: withErrors({ 200: KeyInfoSchema })
    }),
    async (request) => {
      const { key } = request.params
      if (isProtectedKey(key)) throw new LucidError('FORBIDDEN', `${key} holds security state and is read-only here`)
      const { value, encoding, ttl_s: ttl, nx } = request.body
      let stored: string
      if (encoding === 'json') stored = JSON.stringify(value)
      else if (typeof value !== 'string')
        throw new LucidError('INVALID_REQUEST', `value must be a string with encoding ${encoding}`)
      else if (encoding === 'base64') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0)
          throw new LucidError('INVALID_REQUEST', 'value is not valid base64')
        stored = Buffer.from(value, 'base64').toString('latin1')
      } else stored = value
      if (stored === undefined || Buffer.byteLength(stored) > 512 * 1024)
        throw new LucidError('INVALID_REQUEST', 'value must be present and at most 512 KiB')
      const written = await app.stateStore.set(key, stored, { ttlMs: ttl === undefined ? undefined : ttl * 1000, nx })
      if (!written) throw new LucidError('ALREADY_EXISTS', `${key} exists (nx)`)
      await app.audit(request, {
        action: 'cache.key_set',
        target_type: 'cache_key',
        target_id: key,
        details: { encoding, ttl_s: ttl ?? null, bytes: Buffer.byteLength(stored) }
      })
      return { ...(await app.stateStore.describe(key))!, protected: false }
    }
  )

  app.delete(
    '/keys/:key',
    superAdmin({ security, ...deleteSchema('Delete a key (super_admin; never a security key)', KeyParams) }),
    async (request, reply) => {
      const { key } = request.params
      if (isProtectedKey(key)) throw new LucidError('FORBIDDEN', `${key} holds security state and is read-only here`)
      if (!(await app.stateStore.del(key))) throw new LucidError('NOT_FOUND', 'Key not found')
      await app.audit(request, { action: 'cache.key_deleted', target_type: 'cache_key', target_id: key })
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/flush',
    superAdmin({
      security,
      summary:
        "Delete the gateway's own cache keys matching a pattern (super_admin, confirm); security keys are kept, other applications' keys are never touched",
      body: FlushBody,
      response: withErrors({ 200: FlushSchema })
    }),
    async (request) => {
      requireConfirm(request)
      let cursor = '0'
      let deleted = 0
      let kept = 0
      do {
        const page = await app.stateStore.scan(request.body.pattern, cursor, 500)
        for (const k of page.keys) {
          if (isProtectedKey(k)) kept++
          else if (await app.stateStore.del(k)) deleted++
        }
        cursor = page.cursor
      } while (cursor !== '0')
      await app.audit(request, {
        action: 'cache.flushed',
        target_type: 'cache',
        details: { pattern: request.body.pattern, deleted, kept_protected: kept }
      })
      return { deleted, kept_protected: kept }
    }
  )
}
