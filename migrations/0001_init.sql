-- Quire's base schema. Runs unchanged on PGlite (embedded) and on PostgreSQL with pgvector.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE collections (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  team_id text NOT NULL,
  name text NOT NULL,
  description text,
  embedding_model text,
  embedding_dimensions integer CHECK (embedding_dimensions > 0),
  generation_model text,
  rerank_model text,
  chunking jsonb NOT NULL,
  -- The index version queries use now; building a new one never touches this until it is ready.
  current_index_version_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX collections_team_name_key ON collections (team_id, lower(name));

-- An index version fixes the embedding model and its dimension; vectors belong to one version.
CREATE TABLE index_versions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  embedding_model text,
  dimensions integer CHECK (dimensions > 0),
  status text NOT NULL CHECK (status IN ('building', 'ready', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_versions_collection_idx ON index_versions (collection_id);
ALTER TABLE collections
  ADD CONSTRAINT collections_current_index_version_fkey
  FOREIGN KEY (current_index_version_id) REFERENCES index_versions (id) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  team_id text NOT NULL,
  title text,
  filename text,
  mime_type text NOT NULL,
  byte_size bigint NOT NULL CHECK (byte_size >= 0),
  content_sha256 text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
  stage text NOT NULL DEFAULT 'queued',
  pages_parsed integer,
  pages_total integer,
  chunks_total integer,
  chunks_embedded integer NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  error_code text,
  error_message text,
  error_stage text,
  job_id text,
  -- Bumped when a job (re)starts; a job only commits chunks for the version it started with.
  version integer NOT NULL DEFAULT 1,
  heartbeat_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_collection_status_idx ON documents (collection_id, status);
CREATE INDEX documents_unfinished_idx ON documents (status) WHERE status IN ('queued', 'processing');

-- The original bytes, committed before an upload is acknowledged, so a crash never loses an upload.
CREATE TABLE document_blobs (
  document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
  sha256 text NOT NULL,
  bytes bytea NOT NULL
);

-- Chunks hold text and positions only; vectors live apart, per index version.
CREATE TABLE chunks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  ordinal integer NOT NULL,
  text text NOT NULL,
  content_sha256 text NOT NULL,
  page_start integer,
  page_end integer,
  heading_path text[] NOT NULL DEFAULT '{}',
  char_start integer NOT NULL,
  char_end integer NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_collection_idx ON chunks (collection_id);
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);

-- One pgvector HNSW index per index version is created when the version's dimension is known
-- (a partial expression index on embedding::vector(d) WHERE index_version_id = ...).
CREATE TABLE chunk_vectors (
  chunk_id uuid NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
  index_version_id uuid NOT NULL REFERENCES index_versions (id) ON DELETE CASCADE,
  embedding vector NOT NULL,
  PRIMARY KEY (index_version_id, chunk_id)
);
CREATE INDEX chunk_vectors_chunk_idx ON chunk_vectors (chunk_id);

-- One row per provider attempt. Append-only: no foreign keys, because the record of what was spent
-- outlives the collections and documents it was spent on.
CREATE TABLE usage_ledger (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  trace_id text NOT NULL,
  team_id text NOT NULL,
  key_id text NOT NULL,
  purpose text NOT NULL,
  collection_id uuid,
  query_id uuid,
  document_id uuid,
  capability text NOT NULL CHECK (capability IN ('chat', 'embedding', 'rerank')),
  provider text NOT NULL,
  model text NOT NULL,
  route text,
  attempt integer NOT NULL DEFAULT 1,
  stream boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (status IN ('ok', 'error', 'aborted')),
  error_code text,
  input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  cached_input_tokens integer NOT NULL DEFAULT 0,
  cache_write_input_tokens integer NOT NULL DEFAULT 0,
  reasoning_tokens integer NOT NULL DEFAULT 0,
  search_units integer NOT NULL DEFAULT 0,
  usage_reported boolean NOT NULL,
  -- Exact USD; NULL when the model has no price (never silently zero).
  cost_usd numeric(24, 12),
  latency_ms integer NOT NULL,
  first_token_ms integer,
  provider_request_id text,
  idempotency_key text UNIQUE
);
CREATE INDEX usage_ledger_query_idx ON usage_ledger (query_id) WHERE query_id IS NOT NULL;
CREATE INDEX usage_ledger_document_idx ON usage_ledger (document_id) WHERE document_id IS NOT NULL;
CREATE INDEX usage_ledger_team_time_idx ON usage_ledger (team_id, created_at);

CREATE FUNCTION usage_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'usage_ledger is append-only';
END;
$$;
CREATE TRIGGER usage_ledger_no_update BEFORE UPDATE OR DELETE ON usage_ledger
  FOR EACH ROW EXECUTE FUNCTION usage_ledger_append_only();

-- Every search and answer, with what it retrieved, how long each stage took and what it cost.
CREATE TABLE queries (
  id uuid PRIMARY KEY,
  team_id text NOT NULL,
  key_id text NOT NULL,
  collection_id uuid,
  kind text NOT NULL CHECK (kind IN ('search', 'answer')),
  query text NOT NULL,
  mode text,
  status text NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
  answer text,
  results jsonb NOT NULL DEFAULT '[]'::jsonb,
  citations jsonb NOT NULL DEFAULT '[]'::jsonb,
  timings_ms jsonb NOT NULL DEFAULT '{}'::jsonb,
  models jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queries_collection_time_idx ON queries (collection_id, created_at);
