-- Identity (CONTRACT.md section 4): users proven by TRON address and/or email, login sessions,
-- API keys, and the hash-chained audit log.
CREATE TABLE users (
  user_id uuid PRIMARY KEY,
  username text,
  email text,
  tron_address text,
  wallet_type text CHECK (wallet_type IN ('software', 'ledger', 'trezor', 'keepkey')),
  first_name text,
  last_name text,
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'node_operator', 'admin', 'super_admin')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
  totp_secret_enc text,
  totp_enabled boolean NOT NULL DEFAULT false,
  totp_last_step bigint,
  failed_totp_attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  deleted_at timestamptz,
  CHECK (email IS NOT NULL OR tron_address IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_tron_address_key ON users (tron_address) WHERE tron_address IS NOT NULL;
CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE username IS NOT NULL;
CREATE INDEX users_updated_at_idx ON users (updated_at);
CREATE INDEX users_role_status_idx ON users (role, status);

CREATE TABLE auth_sessions (
  session_id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  method text NOT NULL CHECK (method IN ('wallet', 'email')),
  refresh_jti uuid NOT NULL,
  previous_refresh_jti uuid,
  rotated_at timestamptz,
  ip text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id, created_at DESC);
CREATE INDEX auth_sessions_revoked_idx ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

CREATE TABLE api_keys (
  key_id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  name text NOT NULL,
  prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('user', 'node_operator', 'admin', 'super_admin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);
CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;

-- Append-only; each row carries the SHA-256 of the previous one (issue 7: hash chain).
CREATE TABLE audit_log (
  audit_id bigserial PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_id uuid,
  actor_role text,
  action text NOT NULL,
  target_type text,
  target_id text,
  outcome text NOT NULL DEFAULT 'success',
  ip text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, audit_id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, audit_id DESC);
