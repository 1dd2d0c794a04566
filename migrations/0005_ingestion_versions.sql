-- Ingestion: content-hash dedupe, document replacement, stall reasons and ETA, parse warnings,
-- index-version builds (embedding-model swaps) and an embedding cache.

-- Finds an identical upload in the same collection without scanning it.
CREATE INDEX documents_collection_sha_idx ON documents (collection_id, content_sha256);

-- A replacement upload (PUT /v1/documents/:id) is processed as its own row; its chunks land on the
-- document it replaces in one transaction, then the row goes away.
ALTER TABLE documents ADD COLUMN replaces_document_id uuid REFERENCES documents (id) ON DELETE CASCADE;
-- Why the reconciler took the document over (no heartbeat in a stage), shown while it is retried.
ALTER TABLE documents ADD COLUMN stall_reason text;
-- When embedding started, so progress can show an ETA from the observed rate.
ALTER TABLE documents ADD COLUMN embed_started_at timestamptz;
-- Parser warnings (e.g. pages without a text layer).
ALTER TABLE documents ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE documents ADD COLUMN scanned_pages integer[] NOT NULL DEFAULT '{}';

-- Index-version builds: what is being built and how far it got.
ALTER TABLE index_versions DROP CONSTRAINT IF EXISTS index_versions_status_check;
ALTER TABLE index_versions ADD CONSTRAINT index_versions_status_check
  CHECK (status IN ('building', 'ready', 'retired', 'failed'));
ALTER TABLE index_versions ADD COLUMN requested_dimensions integer CHECK (requested_dimensions > 0);
ALTER TABLE index_versions ADD COLUMN chunking jsonb;
ALTER TABLE index_versions ADD COLUMN activate_on_ready boolean NOT NULL DEFAULT false;
ALTER TABLE index_versions ADD COLUMN chunks_total integer NOT NULL DEFAULT 0;
ALTER TABLE index_versions ADD COLUMN chunks_embedded integer NOT NULL DEFAULT 0;
ALTER TABLE index_versions ADD COLUMN error_message text;
ALTER TABLE index_versions ADD COLUMN submitted_identity jsonb;
ALTER TABLE index_versions ADD COLUMN activated_at timestamptz;
ALTER TABLE index_versions ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Re-embedding identical text with the same model (and requested dimension) never calls the
-- provider twice; the model is part of the key, so vectors of two models never mix.
CREATE TABLE embedding_cache (
  content_sha256 text NOT NULL,
  embedding_model text NOT NULL,
  requested_dimensions integer NOT NULL DEFAULT 0,
  embedding vector NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (content_sha256, embedding_model, requested_dimensions)
);
