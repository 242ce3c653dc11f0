-- Storage admin API (issue 7): backups, their restores and schedules.
CREATE TABLE backups (
  backup_id uuid PRIMARY KEY,
  name text NOT NULL,
  type text NOT NULL DEFAULT 'full',
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'deleted')),
  tables text[],
  compression boolean NOT NULL,
  encryption boolean NOT NULL,
  retention_days integer NOT NULL,
  schedule_id uuid,
  size_bytes bigint,
  sha256 text,
  schema_version integer,
  row_counts jsonb,
  error text,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  expires_at timestamptz NOT NULL
);
CREATE INDEX backups_created_idx ON backups (created_at DESC);
CREATE INDEX backups_expires_idx ON backups (expires_at) WHERE status = 'completed';

CREATE TABLE backup_restores (
  restore_id uuid PRIMARY KEY,
  backup_id uuid NOT NULL REFERENCES backups (backup_id),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  tables text[],
  drop_existing boolean NOT NULL,
  rows_restored bigint,
  error text,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);

CREATE TABLE backup_schedules (
  schedule_id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  cron text NOT NULL,
  tables text[],
  compression boolean NOT NULL DEFAULT true,
  encryption boolean NOT NULL DEFAULT true,
  retention_days integer NOT NULL DEFAULT 30,
  enabled boolean NOT NULL DEFAULT true,
  last_run_at timestamptz,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
