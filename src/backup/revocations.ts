/**
 * Revocations survive every restore (issue 12 finding 10). A backup holds login sessions and API
 * keys as they were; restoring it must not un-revoke a session or key revoked since, nor bring
 * back a rotated refresh token. Before the restore's rows go in, the credentials the database
 * holds now are read; afterwards
 *  - a credential that existed keeps its present revocation and (sessions) its present refresh
 *    token state — revocation is permanent, so the present always wins;
 *  - a restored credential that did not exist before the restore (deleted since the backup) is
 *    revoked, unless the table was empty: a restore into an empty database is a recovery with
 *    nothing to compare against.
 * Runs inside the restore's transaction, so the restore and this step commit together.
 */
import type { Queryable } from '../data/db.js'

interface CredentialTable {
  table: string
  id: string
  /** Columns whose present value replaces the restored one (revocation first). */
  present: string[]
  reason?: string
}

const CREDENTIALS: CredentialTable[] = [
  {
    table: 'public.auth_sessions',
    id: 'session_id',
    present: ['revoked_at', 'revoked_reason', 'refresh_jti', 'previous_refresh_jti', 'rotated_at', 'expires_at'],
    reason: 'revoked_reason'
  },
  { table: 'public.api_keys', id: 'key_id', present: ['revoked_at', 'expires_at'] }
]

export interface CredentialSnapshot {
  spec: CredentialTable
  rows: Record<string, unknown>[]
}

const qualified = (t: string) =>
  t
    .split('.')
    .map((p) => `"${p}"`)
    .join('.')

/** Reads the present credentials of the tables this restore will write. */
export async function snapshotCredentials(tx: Queryable, restoredTables: string[]): Promise<CredentialSnapshot[]> {
  const out: CredentialSnapshot[] = []
  for (const spec of CREDENTIALS) {
    if (!restoredTables.includes(spec.table)) continue
    const columns = [spec.id, ...spec.present].join(', ')
    const { rows } = await tx.query<Record<string, unknown>>(`SELECT ${columns} FROM ${qualified(spec.table)}`)
    out.push({ spec, rows })
  }
  return out
}

/** Re-applies the snapshot after the restored rows are in; returns how many credentials were revoked by it. */
export async function reapplyCredentials(tx: Queryable, snapshots: CredentialSnapshot[]): Promise<number> {
  let revoked = 0
  for (const { spec, rows } of snapshots) {
    const t = qualified(spec.table)
    if (rows.length === 0) continue
    const set = spec.present
      .map((c) => (c === 'revoked_at' ? `revoked_at = COALESCE(p.revoked_at, t.revoked_at)` : `${c} = p.${c}`))
      .join(', ')
    await tx.query(
      `UPDATE ${t} AS t SET ${set} FROM json_populate_recordset(NULL::${t}, $1::json) AS p
        WHERE t.${spec.id} = p.${spec.id}`,
      [JSON.stringify(rows)]
    )
    const reason = spec.reason !== undefined ? `, ${spec.reason} = 'restored: not present before the restore'` : ''
    const r = await tx.query(
      `UPDATE ${t} SET revoked_at = now()${reason} WHERE revoked_at IS NULL AND NOT (${spec.id} = ANY($1::uuid[]))`,
      [rows.map((row) => row[spec.id])]
    )
    revoked += r.rowCount
  }
  return revoked
}
