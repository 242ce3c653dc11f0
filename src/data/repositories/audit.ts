/**
 * Append-only audit log with a SHA-256 hash chain: each entry's hash covers the previous entry's
 * hash and the entry's canonical content, so an edited or deleted row breaks every later link.
 */
import { createHash } from 'node:crypto'
import type { Db, Queryable } from '../db.js'

export interface AuditEntry {
  actor_id?: string | null
  actor_role?: string | null
  action: string
  target_type?: string | null
  target_id?: string | null
  outcome?: 'success' | 'failure'
  ip?: string | null
  request_id?: string | null
  details?: Record<string, unknown>
}

export const GENESIS_HASH = '0'.repeat(64)
const AUDIT_LOCK_KEY = 7_245_002

/** Canonical JSON: keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`
}

/** An entry's content as it is hashed (everything but the two hashes). */
export interface AuditContent {
  audit_id: number
  occurred_at: string
  actor_id: string | null
  actor_role: string | null
  action: string
  target_type: string | null
  target_id: string | null
  outcome: string
  ip: string | null
  request_id: string | null
  details: unknown
}

export function auditHash(prevHash: string, row: AuditContent): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(row)).digest('hex')
}

export interface AuditLogRow extends AuditContent {
  prev_hash: string
  hash: string
}

export interface AuditListFilter {
  /** An exact action, or a prefix when it ends with '.' (`auth.`). */
  action?: string
  actor_id?: string
  target_type?: string
  target_id?: string
  outcome?: string
  from?: string
  to?: string
  page: number
  limit: number
}

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`
/** An entry's columns as they are hashed: the time in ISO UTC with microseconds, the actor as text. */
const ENTRY_COLUMNS = `audit_id, to_char(occurred_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS occurred_at, actor_id::text AS actor_id,
  actor_role, action, target_type, target_id, outcome, ip, request_id, details, prev_hash, hash`

export function createAuditRepository(db: Db) {
  async function appendIn(tx: Queryable, e: AuditEntry): Promise<void> {
    // One writer at a time extends the chain; the lock is released with the transaction.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY])
    const prev = await tx.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY audit_id DESC LIMIT 1')
    const prevHash = prev.rows[0]?.hash ?? GENESIS_HASH
    const idRes = await tx.query<{ id: number; ts: string }>(
      "SELECT nextval('audit_log_audit_id_seq') AS id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS ts"
    )
    const row = {
      audit_id: idRes.rows[0].id,
      occurred_at: idRes.rows[0].ts,
      actor_id: e.actor_id ?? null,
      actor_role: e.actor_role ?? null,
      action: e.action,
      target_type: e.target_type ?? null,
      target_id: e.target_id ?? null,
      outcome: e.outcome ?? 'success',
      ip: e.ip ?? null,
      request_id: e.request_id ?? null,
      details: e.details ?? {}
    }
    const hash = auditHash(prevHash, row)
    await tx.query(
      `INSERT INTO audit_log (audit_id, occurred_at, actor_id, actor_role, action, target_type, target_id, outcome, ip, request_id, details, prev_hash, hash)
       VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`,
      [
        row.audit_id,
        row.occurred_at,
        row.actor_id,
        row.actor_role,
        row.action,
        row.target_type,
        row.target_id,
        row.outcome,
        row.ip,
        row.request_id,
        JSON.stringify(row.details),
        prevHash,
        hash
      ]
    )
  }
  return {
    /** Appends in its own transaction (or inside `tx` when given, committing with the caller). */
    async append(e: AuditEntry, tx?: Queryable): Promise<void> {
      if (tx !== undefined) return appendIn(tx, e)
      await db.transaction((t) => appendIn(t, e))
    },
    /** A page of entries, newest first, with the total matching the filter. */
    async list(f: AuditListFilter): Promise<{ rows: AuditLogRow[]; total: number }> {
      const where: string[] = []
      const params: unknown[] = []
      const add = (cond: string, v: unknown) => where.push(cond.replace('?', `$${params.push(v)}`))
      if (f.action?.endsWith('.') === true) add('action LIKE ?', `${f.action}%`)
      else if (f.action !== undefined) add('action = ?', f.action)
      if (f.actor_id !== undefined) add('actor_id = ?', f.actor_id)
      if (f.target_type !== undefined) add('target_type = ?', f.target_type)
      if (f.target_id !== undefined) add('target_id = ?', f.target_id)
      if (f.outcome !== undefined) add('outcome = ?', f.outcome)
      if (f.from !== undefined) add('occurred_at >= ?', f.from)
      if (f.to !== undefined) add('occurred_at < ?', f.to)
      const w = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`
      const [rows, count] = await Promise.all([
        db.query<AuditLogRow>(
          `SELECT ${ENTRY_COLUMNS} FROM audit_log ${w} ORDER BY audit_id DESC LIMIT ${Number(f.limit)} OFFSET ${(Number(f.page) - 1) * Number(f.limit)}`,
          params
        ),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log ${w}`, params)
      ])
      return { rows: rows.rows.map((r) => ({ ...r, audit_id: Number(r.audit_id) })), total: Number(count.rows[0].n) }
    },
    /** Recomputes the whole hash chain (verifyAuditChain over this repository's database). */
    verify(onProgress?: (checked: number) => void): Promise<AuditVerification> {
      return verifyAuditChain(db, onProgress)
    },
    /** The newest entry and the number of entries; null for an empty log. */
    async head(): Promise<{ hash: string; audit_id: number; at: string; entries: number } | null> {
      const { rows } = await db.query<{ hash: string; audit_id: number; at: string; n: number }>(
        `SELECT hash, audit_id, to_char(occurred_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS at,
                (SELECT count(*)::int FROM audit_log) AS n FROM audit_log ORDER BY audit_id DESC LIMIT 1`
      )
      const h = rows[0]
      return h === undefined ? null : { hash: h.hash, audit_id: Number(h.audit_id), at: h.at, entries: Number(h.n) }
    }
  }
}
export type AuditRepository = ReturnType<typeof createAuditRepository>

export interface AuditVerification {
  valid: boolean
  entries: number
  /** Hash of the last entry: publish it elsewhere and a rewrite of the whole chain shows. */
  root: string
  first_invalid_id?: number
  reason?: string
}

/** Recomputes every link of the chain, in pages, oldest first. */
export async function verifyAuditChain(
  q: Queryable,
  onProgress?: (checked: number) => void
): Promise<AuditVerification> {
  let prev = GENESIS_HASH
  let lastId = 0
  let entries = 0
  for (;;) {
    const { rows } = await q.query<AuditLogRow>(
      `SELECT ${ENTRY_COLUMNS}
         FROM audit_log WHERE audit_id > $1 ORDER BY audit_id LIMIT 1000`,
      [lastId]
    )
    if (rows.length === 0) break
    for (const r of rows) {
      const id = Number(r.audit_id)
      if (r.prev_hash !== prev)
        return {
          valid: false,
          entries,
          root: prev,
          first_invalid_id: id,
          reason: 'prev_hash does not match the previous entry (an entry was removed or inserted)'
        }
      const { prev_hash: _p, hash, ...content } = r
      const details = typeof content.details === 'string' ? JSON.parse(content.details) : content.details
      if (auditHash(prev, { ...content, audit_id: id, details }) !== hash)
        return {
          valid: false,
          entries,
          root: prev,
          first_invalid_id: id,
          reason: 'hash does not match the entry content (the entry was edited)'
        }
      prev = hash
      lastId = id
      entries++
    }
    onProgress?.(entries)
  }
  return { valid: true, entries, root: prev }
}
