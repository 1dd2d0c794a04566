-- HNSW graphs per index version, built only once a version is large enough to need one.
--
-- In single-threaded PGlite each HNSW insert costs about 3 ms, more than everything else ingestion
-- writes for a chunk together. Below a threshold a version is searched exactly (no graph); above it
-- a background task moves vectors into the graph a slice at a time, and vector search scans the few
-- vectors not yet moved exactly, beside the graph.
--
-- hnsw_state:
--   'inline' the graph covers every vector of the version and grows on insert (versions written
--            before this migration, and writers that create the index themselves);
--   'exact'  no graph yet: vectors are written pending and searched exactly;
--   'graph'  a graph over the version's vectors that are not pending; pending ones are searched
--            exactly until the background task moves them in.
ALTER TABLE index_versions ADD COLUMN hnsw_state text NOT NULL DEFAULT 'inline'
  CHECK (hnsw_state IN ('inline', 'exact', 'graph'));

-- A version without its index yet (no vector written, or too many dimensions for HNSW) needs no
-- graph built on insert any more.
UPDATE index_versions iv SET hnsw_state = 'exact'
 WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'chunk_vectors_hnsw_' || replace(iv.id::text, '-', ''));

-- Vectors written while their version's graph is deferred. Existing rows are in their graph.
ALTER TABLE chunk_vectors ADD COLUMN graph_pending boolean NOT NULL DEFAULT false;
-- Finds a version's pending vectors (the exact tail of a search, the next slice to move) without
-- reading the rest.
CREATE INDEX chunk_vectors_graph_pending_idx ON chunk_vectors (index_version_id) WHERE graph_pending;
