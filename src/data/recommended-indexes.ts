/**
 * Indexes worth having on the gateway's own tables beyond those the migrations create: they serve
 * admin queries (audit filters, time-range searches, retention sweeps) whose cost grows with the
 * data. Constant SQL: nothing here comes from a request.
 */
export interface RecommendedIndex {
  name: string
  table: string
  /** Constant SQL after `ON public.table`. */
  definition: string
}

export const RECOMMENDED_INDEXES: readonly RecommendedIndex[] = [
  { name: 'audit_log_target_idx', table: 'audit_log', definition: '(target_type, target_id, audit_id DESC)' },
  { name: 'audit_log_occurred_idx', table: 'audit_log', definition: '(occurred_at)' },
  { name: 'sessions_deleted_idx', table: 'sessions', definition: '(deleted_at) WHERE deleted_at IS NOT NULL' },
  { name: 'sessions_updated_idx', table: 'sessions', definition: '(updated_at DESC) WHERE deleted_at IS NULL' },
  { name: 'users_deleted_idx', table: 'users', definition: '(deleted_at) WHERE deleted_at IS NOT NULL' },
  { name: 'backup_restores_backup_idx', table: 'backup_restores', definition: '(backup_id, created_at DESC)' }
]
