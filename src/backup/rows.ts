/**
 * The rows of the backups, backup_restores and backup_schedules tables as the backup service
 * returns them (migrations/ defines the columns), and what a backup request carries.
 */
export interface BackupRow {
  backup_id: string
  name: string
  type: string
  status: 'pending' | 'running' | 'completed' | 'failed' | 'deleted'
  tables: string[] | null
  compression: boolean
  encryption: boolean
  retention_days: number
  schedule_id: string | null
  size_bytes: number | null
  sha256: string | null
  schema_version: number | null
  row_counts: Record<string, number> | null
  error: string | null
  created_by: string | null
  created_at: Date
  started_at: Date | null
  completed_at: Date | null
  expires_at: Date
}

export interface RestoreRow {
  restore_id: string
  backup_id: string
  status: 'pending' | 'running' | 'completed' | 'failed'
  tables: string[] | null
  drop_existing: boolean
  rows_restored: number | null
  error: string | null
  created_by: string | null
  created_at: Date
  completed_at: Date | null
}

export interface ScheduleRow {
  schedule_id: string
  name: string
  cron: string
  tables: string[] | null
  compression: boolean
  encryption: boolean
  retention_days: number
  enabled: boolean
  last_run_at: Date | null
  created_by: string | null
  created_at: Date
}

export interface BackupRequest {
  name: string
  tables?: string[]
  compression: boolean
  encryption: boolean
  retention_days: number
  schedule_id?: string
}
