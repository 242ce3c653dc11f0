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
import type { TableWriter } from '../data/repositories/table-data.js'

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

const RESTORED_REASON = 'restored: not present before the restore'

export interface CredentialSnapshot {
  spec: CredentialTable
  rows: Record<string, unknown>[]
}

/** Reads the present credentials of the tables this restore will write. */
export async function snapshotCredentials(tx: TableWriter, restoredTables: string[]): Promise<CredentialSnapshot[]> {
  const out: CredentialSnapshot[] = []
  for (const spec of CREDENTIALS) {
    if (!restoredTables.includes(spec.table)) continue
    out.push({ spec, rows: await tx.selectColumns(spec.table, [spec.id, ...spec.present]) })
  }
  return out
}

/** Re-applies the snapshot after the restored rows are in; returns how many credentials were revoked by it. */
export async function reapplyCredentials(tx: TableWriter, snapshots: CredentialSnapshot[]): Promise<number> {
  let revoked = 0
  for (const { spec, rows } of snapshots) {
    if (rows.length === 0) continue
    // A revocation on either side stands; every other present column replaces the restored one.
    await tx.overwriteColumns(spec.table, spec.id, rows, spec.present, ['revoked_at'])
    const reason = spec.reason === undefined ? undefined : { column: spec.reason, text: RESTORED_REASON }
    revoked += await tx.revokeAllExcept(
      spec.table,
      spec.id,
      rows.map((row) => row[spec.id]),
      reason
    )
  }
  return revoked
}
