-- What a document's delete or replacement left behind of its text (README, "Data lifecycle"; 0022, 0024).
--
-- 1. A follow-up's question is rewritten by a model that saw the conversation's earlier turns, and
--    answered from a prompt that holds the rewrite: a follow-up asked after a query that is redacted
--    now can carry the words of its answer in `rewritten_query` and in its own answer. Such
--    follow-ups are redacted with it (@quire/index-versions stored-queries.ts), found through this
--    index; those from before, here (a follow-up asked after the query was redacted never saw its
--    turns, but when that was is not known for the redactions 0022 made).
CREATE INDEX queries_conversation_idx ON queries (conversation_id, created_at);
UPDATE queries l SET answer = NULL, rewritten_query = NULL, citations = redact_citations(l.citations), redacted_at = now()
WHERE l.redacted_at IS NULL AND l.rewritten_query IS NOT NULL AND l.conversation_id IS NOT NULL AND EXISTS (
  SELECT 1 FROM queries r
  WHERE r.conversation_id = l.conversation_id AND r.id <> l.id AND r.redacted_at IS NOT NULL AND r.created_at <= l.created_at);
DELETE FROM conversation_turns t USING queries q WHERE t.query_id = q.id AND q.redacted_at IS NOT NULL;

-- 2. A feedback comment on an answer may quote it ("it is 417, not 400"): a redacted query's
--    comments go with its answer. The rating stays (no text in it), so statistics still count it.
UPDATE query_feedback f SET comment = NULL FROM queries q WHERE q.id = f.query_id AND q.redacted_at IS NOT NULL AND f.comment IS NOT NULL;

-- 3. The embedding cache's texts that a document's ingestion job looked up or stored before its
--    chunks hold them (services/ingestion embed/embedding-cache.ts). A delete found a document's
--    text through its chunks only, so a document that failed after some of its vectors were cached
--    (it has no chunks) left them behind when it was deleted. A row here lives until the document's
--    chunks are written (the index transaction then takes it) or the document goes (by cascade, and
--    the delete reads it first to know which cached vectors to drop). While it lives, the document
--    still uses that text: another delete keeps its cached vectors, so a retry does not pay again.
CREATE TABLE embedding_cache_uses (
  document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  content_sha256 text NOT NULL,
  -- The team whose cache rows these are (the team billed for the job's calls).
  team_id text NOT NULL,
  PRIMARY KEY (document_id, content_sha256, team_id)
);
-- A clean-up asks, per cached row, whether a live document of its team still uses the text.
CREATE INDEX embedding_cache_uses_sha_idx ON embedding_cache_uses (content_sha256, team_id);
-- A document's delete locks its replacement rows to read their uses (and their foreign key's
-- cascade looks them up): without this, each delete read every document.
CREATE INDEX documents_replaces_idx ON documents (replaces_document_id) WHERE replaces_document_id IS NOT NULL;

-- What deletes before this left behind: vectors of text that no chunk of their team holds, the
-- failed documents deleted since among them. Which rows a failed document that is still there
-- cached is not recorded anywhere, so its rows go too: retrying it embeds (and pays for) that text
-- again, as 0024 did for every row.
DELETE FROM embedding_cache e WHERE NOT EXISTS (
  SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
   WHERE c.content_sha256 = e.content_sha256 AND (d.team_id = e.team_id OR d.submitted_identity->>'team_id' = e.team_id));

-- 4. Evaluation keeps document text too. A benchmark result's answer was generated from the
--    documents it ranked and cited, and its judge's reason may quote that answer: both go when one of
--    those documents is deleted or replaced, as a stored query's answer does (the metrics, ranked ids,
--    citation ids and timings stay, so the run's figures do not change). A synthetic eval case's
--    reference answer restates the passage it was generated from: it goes when the judged document
--    does (or its text is replaced). A person's question and reference answer stay: they are the
--    set's content, written for the team; the case is listed as stale once its document is gone.
ALTER TABLE benchmark_results ADD COLUMN document_ids uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE benchmark_results ADD COLUMN redacted_at timestamptz;

-- Details with the judge's reason blanked (its scores stay); citations there hold ids, no quotes.
CREATE FUNCTION redact_benchmark_details(details jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(details -> 'judge') = 'object' AND (details -> 'judge') ? 'reason'
              THEN jsonb_set(details, '{judge,reason}', 'null'::jsonb) ELSE details END
$$;

UPDATE benchmark_results r SET document_ids = ARRAY(
  SELECT DISTINCT (d #>> '{}')::uuid FROM jsonb_path_query(jsonb_build_array(r.ranked, COALESCE(r.details -> 'citations', '[]'::jsonb)), 'lax $[*][*].document_id') d
  WHERE jsonb_typeof(d) = 'string' AND (d #>> '{}') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
WHERE r.ranked <> '[]'::jsonb OR jsonb_typeof(r.details -> 'citations') = 'array';
-- Those that drew on a document deleted since, or whose stored query was redacted (a replacement).
UPDATE benchmark_results r SET answer = NULL, details = redact_benchmark_details(r.details), redacted_at = now()
WHERE EXISTS (SELECT 1 FROM unnest(r.document_ids) d (id) WHERE NOT EXISTS (SELECT 1 FROM documents WHERE id = d.id))
   OR EXISTS (SELECT 1 FROM queries q WHERE q.id = r.query_id AND q.redacted_at IS NOT NULL);
CREATE INDEX benchmark_results_document_ids_idx ON benchmark_results USING gin (document_ids);

-- A delete or replacement finds the synthetic cases that judge its document by containment.
CREATE INDEX eval_cases_relevant_idx ON eval_cases USING gin (relevant jsonb_path_ops);
UPDATE eval_cases c SET reference_answer = NULL
WHERE c.synthetic AND c.reference_answer IS NOT NULL AND EXISTS (
  SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.relevant) = 'array' THEN c.relevant ELSE '[]'::jsonb END) x
  WHERE jsonb_typeof(x -> 'document_id') = 'string' AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id::text = x ->> 'document_id'));
