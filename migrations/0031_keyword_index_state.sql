-- What a collection's BM25 postings were built with, so they are rebuilt when that is not what search
-- uses now: a newer analyser (`ANALYZER_VERSION` in @quire/keyword-index) or another
-- `search_settings.language`. Ingestion's keyword-index maintainer compares the two and rebuilds in
-- the background (see services/ingestion/src/index/keyword-index-maintainer.ts).
--
-- keyword_index_state: one row per collection. analyzer_version and language: what every chunk of
-- the active set was indexed with when it was last marked current (NULL: not known, so rebuilt).
-- rebuild_owner and rebuild_lease_until: the ingestion process rebuilding it now, so replicas never
-- run one rebuild twice; a crashed owner's lease runs out and another process resumes.
CREATE TABLE IF NOT EXISTS keyword_index_state (
  collection_id uuid PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
  analyzer_version integer,
  language text CHECK (language IN ('english', 'simple')),
  rebuild_owner text,
  rebuild_lease_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Existing collections were indexed by the analyser's 1st version, with the language they have now
-- (a language change never rebuilt postings, but the 1st version counts as stale whatever it was).
INSERT INTO keyword_index_state (collection_id, analyzer_version, language)
SELECT id, 1, CASE WHEN search_settings->>'language' = 'simple' THEN 'simple' ELSE 'english' END FROM collections
ON CONFLICT (collection_id) DO NOTHING;

-- Per chunk, the analyser its postings were written with (`<language>:<version>`, e.g. `english:2`;
-- NULL: written before this migration, by the 1st version). A rebuild rewrites the chunks whose tag is
-- not the target's, a batch at a time, so it resumes after a crash where it stopped. Nullable with no
-- default: adding it rewrites nothing, on PostgreSQL as on PGlite.
ALTER TABLE bm25_chunks ADD COLUMN IF NOT EXISTS analyzer text;
