-- Job runner bookkeeping: one row per job; last_slot makes each scheduled run happen once
-- across all instances, locked_until keeps a long run from overlapping the next one.
CREATE TABLE job_runs (
  name text PRIMARY KEY,
  last_slot bigint NOT NULL DEFAULT 0,
  locked_by text,
  locked_until timestamptz,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_error text,
  run_count bigint NOT NULL DEFAULT 0,
  failure_count bigint NOT NULL DEFAULT 0
);
