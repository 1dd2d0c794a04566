-- Ready documents of a collection that are restricted to groups.
--
-- A vector search by a caller with groups first asks whether the collection hides any ready document
-- from them (services/retrieval/src/search/vector-search.ts, hidesDocuments). Most collections
-- restrict nothing, and without this index that question read every ready document of the
-- collection on every such search; with it, it is a probe that finds no row. The predicate is the
-- query's, clause for clause, so the planner can prove the query implies it.
CREATE INDEX IF NOT EXISTS documents_restricted_idx ON documents (collection_id)
  WHERE access_groups <> '{}' AND replaces_document_id IS NULL AND status = 'ready';
