/**
 * Portable logical backups of the gateway's database (issue 7 "Backups", issue 8 CLI).
 *
 * A backup is two files under BACKUP_DIR:
 *  - `<id>.lbk`: JSON lines (one header, then `{"t": table, "r": row}` per row) taken in one
 *    REPEATABLE READ snapshot, gzip-compressed, then AES-256-GCM encrypted with a key derived
 *    from DATA_ENCRYPTION_KEY (HKDF, "lucid-backup-v1"). Layout: "LUCIDBK1" | 12-byte IV |
 *    ciphertext | 16-byte tag. Unencrypted backups are plain (optionally gzip) JSON lines.
 *  - `<id>.manifest.json`: schema version, per-table row counts and SHA-256 of the rows, the
 *    SHA-256 and size of the .lbk file. Nothing secret.
 * Both are written to temporary names and renamed after fsync, so a crash leaves no half backup.
 *
 * pg_dump would need the server's binaries in the gateway's image (and does not exist for
 * PGlite); a JSON-lines dump through SQL works the same on both adapters.
 *
 * This module is the entry point; the code is in format.ts (types, manifest, tables covered),
 * create.ts (writing) and restore.ts (verifying and restoring).
 */
export {
  BackupError,
  NEVER_RESTORED,
  STATE_TABLE,
  deleteBackup,
  listTables,
  readManifest,
  type BackupManifest,
  type BackupOptions,
  type StateEntry,
  type TableSummary
} from './format.js'
export { createBackup } from './create.js'
export { restoreBackup, verifyBackup, type RestoreOptions, type RestoreResult, type VerifyResult } from './restore.js'
