/**
 * Every numeric input is bounded (issue 12 finding 10: `?page=99999999999999999999` was a valid
 * integer to the validator and a 500 from PostgreSQL). Routes state their own bounds where a
 * column or the contract sets one; this is the net under every other integer or number of a
 * request schema (querystring, params, headers, body): a value beyond what a bigint column and
 * exact JavaScript arithmetic both hold is a 422 from the validator, never an error further in.
 */
export const MAX_INPUT_NUMBER = Number.MAX_SAFE_INTEGER

type SchemaNode = Record<string, unknown>

const CHILD_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const

/** Adds `minimum`/`maximum` in place to numeric schemas that have none; returns the same schema. */
export function boundNumbers<T>(schema: T, seen = new WeakSet<object>()): T {
  if (schema === null || typeof schema !== 'object' || seen.has(schema)) return schema
  seen.add(schema)
  const s = schema as SchemaNode
  const types = Array.isArray(s.type) ? s.type : [s.type]
  if (types.includes('integer') || types.includes('number')) {
    if (s.maximum === undefined && s.exclusiveMaximum === undefined) s.maximum = MAX_INPUT_NUMBER
    if (s.minimum === undefined && s.exclusiveMinimum === undefined) s.minimum = -MAX_INPUT_NUMBER
  }
  for (const key of ['properties', 'patternProperties'] as const) {
    const children = s[key]
    if (children === null || typeof children !== 'object') continue
    for (const c of Object.values(children)) boundNumbers(c, seen)
  }
  for (const key of ['items', 'additionalProperties', 'not', 'if', 'then', 'else'] as const) boundNumbers(s[key], seen)
  for (const key of CHILD_LISTS) if (Array.isArray(s[key])) for (const c of s[key] as unknown[]) boundNumbers(c, seen)
  return schema
}
