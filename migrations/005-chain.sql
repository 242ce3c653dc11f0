-- Local copy of lucid_blocks (issue 7): blocks and transactions synced by the chain-sync job,
-- searchable with PostgreSQL full-text search.
CREATE TABLE blocks (
  height bigint PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  previous_hash text NOT NULL,
  merkle_root text NOT NULL,
  block_timestamp timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'confirmed',
  transaction_count integer NOT NULL,
  synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blocks_timestamp_idx ON blocks (block_timestamp);

CREATE TABLE transactions (
  transaction_id text PRIMARY KEY,
  block_height bigint NOT NULL REFERENCES blocks (height) ON DELETE CASCADE,
  position integer NOT NULL,
  type text NOT NULL,
  status text NOT NULL,
  sender text,
  recipient text,
  amount numeric,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  submitted_at timestamptz,
  confirmed_at timestamptz
);
CREATE INDEX transactions_block_idx ON transactions (block_height, position);
CREATE INDEX transactions_type_idx ON transactions (type);
CREATE INDEX transactions_session_idx ON transactions ((data ->> 'session_id')) WHERE type = 'session_anchor';
CREATE INDEX transactions_text_idx ON transactions USING gin (to_tsvector('simple', transaction_id || ' ' || type || ' ' || coalesce(sender, '') || ' ' || coalesce(recipient, '') || ' ' || data::text));
CREATE INDEX blocks_text_idx ON blocks USING gin (to_tsvector('simple', hash || ' ' || merkle_root));
