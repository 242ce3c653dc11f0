import type { Queryable } from '../db.js'

export interface TrustRule {
  rule_id: string
  type: 'allow' | 'deny'
  condition: string
  action: string
  priority: number
  enabled: boolean
}

export interface TrustPolicyRow {
  policy_id: string
  user_id: string
  name: string
  description: string | null
  rules: TrustRule[]
  enabled: boolean
  policy_hash: string
  created_at: Date
  updated_at: Date
}

export interface TrustPolicyInput {
  name: string
  description: string | null
  rules: TrustRule[]
  enabled: boolean
  policy_hash: string
}

export function createTrustPoliciesRepository(db: Queryable) {
  return {
    async findById(id: string, q: Queryable = db): Promise<TrustPolicyRow | null> {
      const { rows } = await q.query<TrustPolicyRow>('SELECT * FROM trust_policies WHERE policy_id = $1', [id])
      return rows[0] ?? null
    },
    async countForUser(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM trust_policies WHERE user_id = $1',
        [userId]
      )
      return Number(rows[0].n)
    },
    /** One page of a user's policies, newest first. */
    async listForUser(userId: string, page: number, limit: number): Promise<{ rows: TrustPolicyRow[]; total: number }> {
      const [total, list] = await Promise.all([
        this.countForUser(userId),
        db.query<TrustPolicyRow>(
          'SELECT * FROM trust_policies WHERE user_id = $1 ORDER BY created_at DESC, policy_id LIMIT $2 OFFSET $3',
          [userId, limit, (page - 1) * limit]
        )
      ])
      return { rows: list.rows, total }
    },
    async create(p: TrustPolicyInput & { policy_id: string; user_id: string }): Promise<TrustPolicyRow> {
      const { rows } = await db.query<TrustPolicyRow>(
        `INSERT INTO trust_policies (policy_id, user_id, name, description, rules, enabled, policy_hash)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) RETURNING *`,
        [p.policy_id, p.user_id, p.name, p.description, JSON.stringify(p.rules), p.enabled, p.policy_hash]
      )
      return rows[0]
    },
    async replace(id: string, p: TrustPolicyInput): Promise<TrustPolicyRow | null> {
      const { rows } = await db.query<TrustPolicyRow>(
        `UPDATE trust_policies SET name = $2, description = $3, rules = $4::jsonb, enabled = $5, policy_hash = $6,
           updated_at = now() WHERE policy_id = $1 RETURNING *`,
        [id, p.name, p.description, JSON.stringify(p.rules), p.enabled, p.policy_hash]
      )
      return rows[0] ?? null
    },
    async delete(id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM trust_policies WHERE policy_id = $1', [id])
      return rowCount === 1
    }
  }
}
export type TrustPoliciesRepository = ReturnType<typeof createTrustPoliciesRepository>
