-- Stored queries and conversations follow the collections and documents they drew on (README, "Data
-- lifecycle"): a query's answer, its citations' quotes and a conversation's turns carry document
-- text, so they must not outlive it. Deleting a collection deletes its queries and conversations;
-- deleting or replacing a document redacts the queries that drew on it and deletes their turns
-- (@quire/index-versions stored-queries.ts). QUIRE_QUERY_RETENTION_DAYS ages out the rest.

-- The documents a query's results and citations name: a delete or a replacement finds the queries to
-- redact through the index instead of reading every query's jsonb.
ALTER TABLE queries ADD COLUMN document_ids uuid[] NOT NULL DEFAULT '{}';
-- When a document the query drew on was deleted or replaced; its answer, rewritten query and quotes are blank since.
ALTER TABLE queries ADD COLUMN redacted_at timestamptz;

-- A citation list with each quote blanked; everything else (ids, positions, titles) stays.
CREATE FUNCTION redact_citations(citations jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(jsonb_agg(CASE WHEN jsonb_typeof(c) = 'object' AND c ? 'quote' THEN jsonb_set(c, '{quote}', '""') ELSE c END ORDER BY n), '[]'::jsonb)
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(citations) = 'array' THEN citations ELSE '[]'::jsonb END) WITH ORDINALITY AS e(c, n)
$$;

-- Rows from before 0003 name their one collection only in collection_id.
UPDATE queries SET collection_ids = ARRAY[collection_id] WHERE collection_ids IS NULL AND collection_id IS NOT NULL;
UPDATE queries q SET document_ids = ARRAY(
  SELECT DISTINCT (d #>> '{}')::uuid FROM jsonb_path_query(jsonb_build_array(q.results, q.citations), 'lax $[*][*].document_id') d
  WHERE jsonb_typeof(d) = 'string' AND (d #>> '{}') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
WHERE q.results <> '[]'::jsonb OR q.citations <> '[]'::jsonb;

-- What deletes before this left behind: queries and conversations of deleted collections, turns of
-- queries that are gone, and queries that drew on deleted documents (their text is in the answer).
DELETE FROM queries q WHERE EXISTS (SELECT 1 FROM unnest(q.collection_ids) c (id) WHERE NOT EXISTS (SELECT 1 FROM collections WHERE id = c.id));
DELETE FROM conversations cv WHERE EXISTS (SELECT 1 FROM unnest(cv.collection_ids) c (id) WHERE NOT EXISTS (SELECT 1 FROM collections WHERE id = c.id));
DELETE FROM conversation_turns t WHERE t.query_id IS NULL OR NOT EXISTS (SELECT 1 FROM queries q WHERE q.id = t.query_id);
UPDATE queries q SET answer = NULL, rewritten_query = NULL, citations = redact_citations(q.citations), redacted_at = now()
WHERE EXISTS (SELECT 1 FROM unnest(q.document_ids) d (id) WHERE NOT EXISTS (SELECT 1 FROM documents WHERE id = d.id));
DELETE FROM conversation_turns t USING queries q WHERE t.query_id = q.id AND q.redacted_at IS NOT NULL;

CREATE INDEX queries_document_ids_idx ON queries USING gin (document_ids);
CREATE INDEX queries_collection_ids_idx ON queries USING gin (collection_ids);
-- The retention sweep, oldest first.
CREATE INDEX queries_created_idx ON queries (created_at);
CREATE INDEX conversations_collection_ids_idx ON conversations USING gin (collection_ids);
CREATE INDEX conversations_updated_idx ON conversations (updated_at);
CREATE INDEX conversation_turns_query_idx ON conversation_turns (query_id);
