-- Governance at the front door: teams, API keys, collection grants, budgets and an append-only audit log.
CREATE TABLE teams (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name text NOT NULL,
  -- Models and routes the team may call; NULL means any. Entries are exact names or `provider/*`.
  allowed_models text[],
  -- Per-team rate limits (requests and tokens per minute); NULL means unlimited.
  rpm integer CHECK (rpm > 0),
  tpm integer CHECK (tpm > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The organisation's own team: the bootstrap admin key and every pre-governance row belong to it.
INSERT INTO teams (id, name) VALUES ('default', 'Organisation');

-- Keys are stored as SHA-256 of their random secret, never in clear. `id` is the key's public part.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  team_id text NOT NULL REFERENCES teams (id),
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'knowledge-admin', 'member', 'service')),
  groups text[] NOT NULL DEFAULT '{}',
  -- Narrows the team's allow list (never widens it); NULL means the team's.
  allowed_models text[],
  rpm integer CHECK (rpm > 0),
  tpm integer CHECK (tpm > 0),
  secret_hash text NOT NULL,
  -- After a rotation the previous secret stays valid until previous_valid_until (grace period).
  previous_secret_hash text,
  previous_valid_until timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_team_idx ON api_keys (team_id, created_at);

-- The owning team always has write access; grants give other teams read or write.
CREATE TABLE collection_grants (
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  team_id text NOT NULL REFERENCES teams (id),
  access text NOT NULL CHECK (access IN ('read', 'write')),
  granted_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection_id, team_id)
);

CREATE TABLE budgets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scope text NOT NULL CHECK (scope IN ('team', 'key')),
  scope_id text NOT NULL,
  period text NOT NULL CHECK (period IN ('day', 'month')),
  limit_usd numeric(24, 12) NOT NULL CHECK (limit_usd >= 0),
  -- Fraction of the limit at which one alert per period goes out (webhook + log line).
  soft_fraction numeric(5, 4) NOT NULL DEFAULT 0.8 CHECK (soft_fraction > 0 AND soft_fraction <= 1),
  alert_webhook text,
  updated_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (scope, scope_id, period)
);

-- One soft-threshold alert per budget and period, across every gateway process.
CREATE TABLE budget_alerts (
  budget_id uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
  period_start timestamptz NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (budget_id, period_start)
);

-- Spend per key and period is read from the ledger.
CREATE INDEX usage_ledger_key_time_idx ON usage_ledger (key_id, created_at);

-- Every administrative change and every refused request.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  request_id text,
  actor_key_id text,
  actor_team_id text,
  action text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'refused')),
  code text,
  target_type text,
  target_id text,
  before jsonb,
  after jsonb,
  details jsonb
);
CREATE INDEX audit_log_time_idx ON audit_log (created_at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Document-level access: empty means everyone who may read the collection; otherwise the reader
-- needs one of these groups. Set at upload from the metadata field `access_groups`.
ALTER TABLE documents ADD COLUMN access_groups text[] NOT NULL DEFAULT '{}';
CREATE INDEX documents_access_groups_idx ON documents USING gin (access_groups);
