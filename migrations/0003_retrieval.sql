-- Retrieval: BM25 keyword index, per-collection search settings, conversations and feedback.

-- Okapi BM25 kept inside Postgres (no extension), written in the same transaction as the chunks it
-- describes. Terms use the "C" collation: byte order makes prefix queries (term*) an index range.
CREATE TABLE bm25_collection_stats (
  collection_id uuid PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
  doc_count bigint NOT NULL DEFAULT 0,
  total_length bigint NOT NULL DEFAULT 0
);

CREATE TABLE bm25_chunks (
  chunk_id uuid PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
  collection_id uuid NOT NULL,
  length integer NOT NULL CHECK (length >= 0)
);

-- Document frequency per term, so a query reads N and df without counting postings.
CREATE TABLE bm25_terms (
  collection_id uuid NOT NULL,
  term text COLLATE "C" NOT NULL,
  df integer NOT NULL,
  PRIMARY KEY (collection_id, term)
);

-- The inverted index, one row per (term, chunk) (the writer aggregates, so no unique key is kept).
-- doc_length is copied in so scoring never joins bm25_chunks; positions serve phrase queries.
-- The term index is in impact order (tf high, chunk short first) and covers scoring, so a query
-- may read only the best postings of a very common term. No foreign key on chunk_id: a per-row
-- check costs more than the insert (tens of postings per chunk); a chunks trigger deletes instead.
CREATE TABLE bm25_postings (
  collection_id uuid NOT NULL,
  term text COLLATE "C" NOT NULL,
  chunk_id uuid NOT NULL,
  tf integer NOT NULL CHECK (tf > 0),
  doc_length integer NOT NULL,
  positions integer[] NOT NULL
);
CREATE INDEX bm25_postings_term_idx ON bm25_postings (collection_id, term, tf DESC, doc_length) INCLUDE (chunk_id);
CREATE INDEX bm25_postings_chunk_idx ON bm25_postings (chunk_id);

-- Statistics follow the rows whoever inserts or deletes them (the writer, or a cascade from a
-- deleted chunk, document or collection), once per statement through transition tables.
CREATE FUNCTION bm25_chunks_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bm25_collection_stats AS s (collection_id, doc_count, total_length)
  SELECT n.collection_id, count(*), sum(n.length) FROM new_rows n GROUP BY n.collection_id
  ON CONFLICT (collection_id) DO UPDATE
    SET doc_count = s.doc_count + EXCLUDED.doc_count, total_length = s.total_length + EXCLUDED.total_length;
  RETURN NULL;
END;
$$;
CREATE FUNCTION bm25_chunks_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE bm25_collection_stats s
     SET doc_count = s.doc_count - o.n, total_length = s.total_length - o.len
    FROM (SELECT collection_id, count(*) AS n, sum(length) AS len FROM old_rows GROUP BY collection_id) o
   WHERE s.collection_id = o.collection_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER bm25_chunks_insert AFTER INSERT ON bm25_chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_added();
CREATE TRIGGER bm25_chunks_delete AFTER DELETE ON bm25_chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_removed();

CREATE FUNCTION bm25_postings_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bm25_terms AS t (collection_id, term, df)
  SELECT n.collection_id, n.term, count(*) FROM new_rows n GROUP BY n.collection_id, n.term
  ON CONFLICT (collection_id, term) DO UPDATE SET df = t.df + EXCLUDED.df;
  RETURN NULL;
END;
$$;
CREATE FUNCTION bm25_postings_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE bm25_terms t SET df = t.df - o.n
    FROM (SELECT collection_id, term, count(*) AS n FROM old_rows GROUP BY collection_id, term) o
   WHERE t.collection_id = o.collection_id AND t.term = o.term;
  DELETE FROM bm25_terms t USING (SELECT DISTINCT collection_id, term FROM old_rows) o
   WHERE t.collection_id = o.collection_id AND t.term = o.term AND t.df <= 0;
  RETURN NULL;
END;
$$;
CREATE TRIGGER bm25_postings_insert AFTER INSERT ON bm25_postings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_added();
CREATE TRIGGER bm25_postings_delete AFTER DELETE ON bm25_postings
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_removed();

-- Deleted chunks (directly or by cascade from their document or collection) take their postings.
CREATE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM bm25_postings p USING old_rows o WHERE p.chunk_id = o.id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER chunks_bm25_delete AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_deleted();

-- Search knobs per collection (preset or RRF weights and k, BM25 k1 and b, analyser, rerank pool).
ALTER TABLE collections ADD COLUMN search_settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Conversations: follow-ups are rewritten into standalone queries from this history.
CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  team_id text NOT NULL,
  key_id text NOT NULL,
  collection_ids uuid[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE conversation_turns (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  query_id uuid,
  role text NOT NULL CHECK (role IN ('user', 'assistant')),
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_turns_conversation_idx ON conversation_turns (conversation_id, id);

-- Per-query truth beyond 0001's columns.
ALTER TABLE queries ADD COLUMN collection_ids uuid[];
ALTER TABLE queries ADD COLUMN conversation_id uuid;
ALTER TABLE queries ADD COLUMN rewritten_query text;
ALTER TABLE queries ADD COLUMN prompt_tokens integer;
ALTER TABLE queries ADD COLUMN no_answer boolean;
ALTER TABLE queries ADD COLUMN latency_ms integer;

CREATE TABLE query_feedback (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  query_id uuid NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
  team_id text NOT NULL,
  key_id text NOT NULL,
  rating text NOT NULL CHECK (rating IN ('up', 'down')),
  comment text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX query_feedback_query_idx ON query_feedback (query_id);
