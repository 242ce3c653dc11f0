/**
 * What a backup request carries (the API, the CLI and a schedule). The catalogue's row types live
 * with their repositories: src/data/repositories/backups.ts and backup-schedules.ts.
 */
export interface BackupRequest {
  name: string
  tables?: string[]
  compression: boolean
  encryption: boolean
  retention_days: number
  schedule_id?: string
}
