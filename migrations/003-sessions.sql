-- Recording sessions, their chunks, manifests with Merkle roots and their anchors on
-- lucid_blocks, and trust policies (issue 6; CONTRACT.md section 7).
CREATE TABLE trust_policies (
  policy_id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  rules jsonb NOT NULL DEFAULT '[]'::jsonb,
  enabled boolean NOT NULL DEFAULT true,
  policy_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trust_policies_user_idx ON trust_policies (user_id, created_at DESC);

CREATE TABLE sessions (
  session_id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'initializing' CHECK (status IN ('initializing', 'active', 'completed', 'terminated', 'failed')),
  max_size_bytes bigint NOT NULL,
  size_bytes bigint NOT NULL DEFAULT 0,
  chunk_count integer NOT NULL DEFAULT 0,
  trust_policy_id uuid REFERENCES trust_policies (policy_id) ON DELETE SET NULL,
  termination_reason text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  deleted_at timestamptz
);
CREATE INDEX sessions_user_created_idx ON sessions (user_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX sessions_user_status_idx ON sessions (user_id, status) WHERE deleted_at IS NULL;
CREATE INDEX sessions_text_idx ON sessions USING gin (to_tsvector('simple', name || ' ' || coalesce(description, '')));

CREATE TABLE chunks (
  session_id uuid NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  chunk_index integer NOT NULL CHECK (chunk_index >= 0),
  size_bytes integer NOT NULL CHECK (size_bytes > 0),
  sha256 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, chunk_index)
);

CREATE TABLE manifests (
  manifest_id uuid PRIMARY KEY,
  session_id uuid NOT NULL UNIQUE REFERENCES sessions (session_id) ON DELETE CASCADE,
  merkle_root text NOT NULL,
  chunk_count integer NOT NULL,
  total_size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  anchor_status text CHECK (anchor_status IN ('pending', 'confirmed', 'failed')),
  anchor_txid text,
  anchor_block_height bigint,
  anchor_confirmed_at timestamptz,
  anchor_requested_at timestamptz,
  anchor_error text
);
CREATE INDEX manifests_anchor_pending_idx ON manifests (anchor_status) WHERE anchor_status = 'pending';
