-- How many of a document's `chunks_embedded` came from the embedding cache (no provider call), so the
-- ETA (`progress.eta_seconds`, documents-repo.ts) extrapolates only the provider's rate: cache hits
-- are counted at once when embedding starts and would otherwise read as a very fast provider.
-- Reset with chunks_embedded when an attempt starts. A constant default: adding it rewrites nothing,
-- on PostgreSQL as on PGlite.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS chunks_cached integer NOT NULL DEFAULT 0;
