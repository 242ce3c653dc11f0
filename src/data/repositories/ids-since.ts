/**
 * The ids of the rows of `table` whose `column` is at or after `since`, and the database's clock
 * (`now`) to pass as the next `since`, so the instances' own clocks never matter. The identity
 * cache refresh polls revoked login sessions and changed users this way. `table`, `id` and
 * `column` are the repository's constants, never input.
 */
import type { Queryable } from '../db.js'

export async function idsSince(
  db: Queryable,
  table: string,
  id: string,
  column: string,
  since: Date
): Promise<{ ids: string[]; now: Date }> {
  const { rows } = await db.query<{ id: string | null; now: Date }>(
    `SELECT t.${id} AS id, n.now FROM (SELECT now() AS now) n LEFT JOIN ${table} t ON t.${column} >= $1`,
    [since]
  )
  return { ids: rows.filter((r) => r.id !== null).map((r) => r.id as string), now: rows[0].now }
}
