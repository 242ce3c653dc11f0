-- Storage volumes under VOLUMES_ROOT (issue 7) and their sampled usage.
CREATE TABLE volumes (
  name text PRIMARY KEY,
  quota_bytes bigint NOT NULL CHECK (quota_bytes > 0),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'readonly', 'maintenance')),
  system boolean NOT NULL DEFAULT false,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE volume_usage (
  name text NOT NULL,
  sampled_at timestamptz NOT NULL,
  used_bytes bigint NOT NULL,
  files bigint NOT NULL,
  PRIMARY KEY (name, sampled_at)
);
