/** Blocks and transactions copied from lucid_blocks (issue 7), and the queries over them. */
import type { Db, Queryable } from '../db.js'

export interface BlockRow {
  height: number
  hash: string
  previous_hash: string
  merkle_root: string
  block_timestamp: Date
  status: string
  transaction_count: number
  synced_at: Date
}

export interface TransactionRow {
  transaction_id: string
  block_height: number
  position: number
  type: string
  status: string
  sender: string | null
  recipient: string | null
  amount: string | null
  data: Record<string, unknown>
  submitted_at: Date | null
  confirmed_at: Date | null
}

/** A block as lucid_blocks serves it (CONTRACT.md section 6). */
export interface RemoteBlock {
  height: number
  hash: string
  previous_hash: string
  merkle_root: string
  timestamp: string
  transactions?: {
    transaction_id: string
    type: string
    status?: string
    data?: unknown
    sender?: string
    recipient?: string
    amount?: number | string
    submitted_at?: string
    confirmed_at?: string
  }[]
}

const num = <T extends { height?: unknown; block_height?: unknown; transaction_count?: unknown; position?: unknown }>(
  r: T
): T => ({
  ...r,
  ...(r.height !== undefined ? { height: Number(r.height) } : {}),
  ...(r.block_height !== undefined ? { block_height: Number(r.block_height) } : {}),
  ...(r.transaction_count !== undefined ? { transaction_count: Number(r.transaction_count) } : {}),
  ...(r.position !== undefined ? { position: Number(r.position) } : {})
})

export function createChainRepository(db: Db) {
  return {
    async chainHeight(q: Queryable = db): Promise<number | null> {
      const { rows } = await q.query<{ h: number | null }>('SELECT max(height) AS h FROM blocks')
      return rows[0].h === null ? null : Number(rows[0].h)
    },
    async latest(limit = 10): Promise<BlockRow[]> {
      return (await db.query<BlockRow>('SELECT * FROM blocks ORDER BY height DESC LIMIT $1', [limit])).rows.map(num)
    },
    async byHeight(height: number, q: Queryable = db): Promise<BlockRow | null> {
      const { rows } = await q.query<BlockRow>('SELECT * FROM blocks WHERE height = $1', [height])
      return rows[0] === undefined ? null : num(rows[0])
    },
    async byHash(hash: string): Promise<BlockRow | null> {
      const { rows } = await db.query<BlockRow>('SELECT * FROM blocks WHERE hash = $1', [hash])
      return rows[0] === undefined ? null : num(rows[0])
    },
    async range(from: number, to: number): Promise<BlockRow[]> {
      return (
        await db.query<BlockRow>('SELECT * FROM blocks WHERE height BETWEEN $1 AND $2 ORDER BY height', [from, to])
      ).rows.map(num)
    },
    async transactionsOf(height: number): Promise<TransactionRow[]> {
      return (
        await db.query<TransactionRow>('SELECT * FROM transactions WHERE block_height = $1 ORDER BY position', [height])
      ).rows.map(num)
    },
    async transaction(id: string): Promise<TransactionRow | null> {
      const { rows } = await db.query<TransactionRow>('SELECT * FROM transactions WHERE transaction_id = $1', [id])
      return rows[0] === undefined ? null : num(rows[0])
    },
    /** The on-chain anchors of a recording session. */
    async anchorsOfSession(sessionId: string): Promise<TransactionRow[]> {
      return (
        await db.query<TransactionRow>(
          "SELECT * FROM transactions WHERE type = 'session_anchor' AND data ->> 'session_id' = $1 ORDER BY block_height",
          [sessionId]
        )
      ).rows.map(num)
    },
    /** Removes blocks above `height` (a reorganisation); their transactions go with them. */
    async truncateAbove(height: number, q: Queryable = db): Promise<number> {
      return (await q.query('DELETE FROM blocks WHERE height > $1', [height])).rowCount
    },
    /** Inserts a block and its transactions, replacing a different block at the same height. */
    async upsert(b: RemoteBlock, q: Queryable): Promise<'inserted' | 'replaced' | 'unchanged'> {
      const existing = await this.byHeight(b.height, q)
      if (existing !== null && existing.hash === b.hash) return 'unchanged'
      if (existing !== null) await q.query('DELETE FROM blocks WHERE height >= $1', [b.height])
      const txs = b.transactions ?? []
      await q.query(
        'INSERT INTO blocks (height, hash, previous_hash, merkle_root, block_timestamp, transaction_count) VALUES ($1, $2, $3, $4, $5, $6)',
        [b.height, b.hash, b.previous_hash, b.merkle_root, new Date(b.timestamp), txs.length]
      )
      for (const [i, t] of txs.entries()) {
        await q.query(
          `INSERT INTO transactions (transaction_id, block_height, position, type, status, sender, recipient, amount, data, submitted_at, confirmed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)
           ON CONFLICT (transaction_id) DO UPDATE SET block_height = EXCLUDED.block_height, position = EXCLUDED.position, status = EXCLUDED.status, confirmed_at = EXCLUDED.confirmed_at`,
          [
            t.transaction_id,
            b.height,
            i,
            t.type,
            t.status ?? 'confirmed',
            t.sender ?? null,
            t.recipient ?? null,
            t.amount ?? null,
            JSON.stringify(t.data ?? {}),
            t.submitted_at ?? null,
            t.confirmed_at ?? null
          ]
        )
      }
      return existing === null ? 'inserted' : 'replaced'
    }
  }
}

export type ChainRepository = ReturnType<typeof createChainRepository>
