/** The database server itself, not a table: its round trip and its clock (readiness probe, doctor). */
import type { Db } from '../db.js'

export function createDatabaseInfo(db: Db) {
  return {
    /** Round trip in ms. */
    ping: (): Promise<number> => db.ping(),
    /** The server's wall clock in ms since the epoch (clock-skew check). */
    async serverTimeMs(): Promise<number> {
      const { rows } = await db.query<{ ms: number }>(
        'SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms'
      )
      return Number(rows[0].ms)
    }
  }
}
