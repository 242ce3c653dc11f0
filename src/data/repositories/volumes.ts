/** The `volumes` and `volume_usage` tables (issue 7; out of src/volumes in issue 16). */
import type { Db } from '../db.js'

export interface VolumeRow {
  name: string
  quota_bytes: number
  status: 'active' | 'readonly' | 'maintenance'
  system: boolean
  created_at: Date
  updated_at: Date
}

export interface UsageSample {
  sampled_at: Date
  used_bytes: number
  files: number
}

// BIGINT arrives as a string from PostgreSQL.
const normal = (r: VolumeRow): VolumeRow => ({ ...r, quota_bytes: Number(r.quota_bytes) })

export function createVolumesRepository(db: Db) {
  return {
    async find(name: string): Promise<VolumeRow | null> {
      const { rows } = await db.query<VolumeRow>('SELECT * FROM volumes WHERE name = $1', [name])
      return rows[0] === undefined ? null : normal(rows[0])
    },
    /** A system volume (chunks, backups), created once with the file system's size as its quota. */
    async ensureSystem(name: string, quotaBytes: number): Promise<void> {
      await db.query(
        'INSERT INTO volumes (name, quota_bytes, system) VALUES ($1, $2, true) ON CONFLICT (name) DO NOTHING',
        [name, quotaBytes]
      )
    },
    async list(): Promise<VolumeRow[]> {
      return (await db.query<VolumeRow>('SELECT * FROM volumes ORDER BY system DESC, name')).rows.map(normal)
    },
    /** The new row, or null when the name is taken. */
    async insert(name: string, quotaBytes: number, actor: string | null): Promise<VolumeRow | null> {
      const { rows } = await db.query<VolumeRow>(
        'INSERT INTO volumes (name, quota_bytes, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
        [name, quotaBytes, actor]
      )
      return rows[0] === undefined ? null : normal(rows[0])
    },
    async update(name: string, status: VolumeRow['status'], quotaBytes: number): Promise<VolumeRow | null> {
      const { rows } = await db.query<VolumeRow>(
        'UPDATE volumes SET status = $2, quota_bytes = $3, updated_at = now() WHERE name = $1 RETURNING *',
        [name, status, quotaBytes]
      )
      return rows[0] === undefined ? null : normal(rows[0])
    },
    async remove(name: string): Promise<void> {
      await db.query('DELETE FROM volumes WHERE name = $1', [name])
      await db.query('DELETE FROM volume_usage WHERE name = $1', [name])
    },
    async usageSince(name: string, since: Date): Promise<UsageSample[]> {
      const { rows } = await db.query<UsageSample>(
        'SELECT sampled_at, used_bytes, files FROM volume_usage WHERE name = $1 AND sampled_at >= $2 ORDER BY sampled_at',
        [name, since]
      )
      return rows
    },
    async recordUsage(name: string, at: Date, usedBytes: number, files: number): Promise<void> {
      await db.query(
        'INSERT INTO volume_usage (name, sampled_at, used_bytes, files) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [name, at, usedBytes, files]
      )
    },
    async pruneUsage(before: Date): Promise<void> {
      await db.query('DELETE FROM volume_usage WHERE sampled_at < $1', [before])
    }
  }
}

export type VolumesRepository = ReturnType<typeof createVolumesRepository>
