/**
 * JSON bodies: Fastify's prototype-poisoning-safe parser plus a depth limit (CONTRACT.md
 * section 3: deeper than 10 → 400/1001), which stops stack-heavy payloads before any handler.
 * The default `{}` for a left-out optional body is the pipeline's route stage
 * (src/pipeline/request-path.ts).
 */
import fp from 'fastify-plugin'
import sjson from 'secure-json-parse'
import type { FastifyInstance } from 'fastify'
import { LucidError } from '../errors.js'

export const MAX_JSON_DEPTH = 10

export function jsonDepth(value: unknown): number {
  // Iterative, so a hostile 100 000-level body cannot overflow the stack while being measured.
  let max = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    const depth = d + 1
    if (depth > max) max = depth
    if (max > MAX_JSON_DEPTH) return max
    for (const child of Object.values(v as object)) stack.push([child, depth])
  }
  return max
}

async function jsonBodyPlugin(app: FastifyInstance): Promise<void> {
  app.removeContentTypeParser('application/json')
  // JSON only (CONTRACT.md section 3): Fastify's built-in text/plain parser let a text body reach
  // the validator, a 422 where the contract says 415/1001 (issue 12 finding 10).
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string
    if (text.length === 0)
      return done(
        new LucidError('INVALID_JSON', 'Body cannot be empty when content-type is application/json'),
        undefined
      )
    let parsed: unknown
    try {
      parsed = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
    } catch {
      return done(new LucidError('INVALID_JSON'), undefined)
    }
    if (jsonDepth(parsed) > MAX_JSON_DEPTH) {
      return done(
        new LucidError('INVALID_REQUEST', `JSON nesting deeper than ${MAX_JSON_DEPTH} levels`, { status: 400 }),
        undefined
      )
    }
    done(null, parsed)
  })
}

export default fp(jsonBodyPlugin, { name: 'lucid-json-body' })
