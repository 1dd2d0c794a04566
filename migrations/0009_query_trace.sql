-- Each query keeps its retrieval trace: the candidates and scores of every stage (vector, keyword,
-- fused, reranked) and which chunks fit the answer's context budget, so it can be replayed and audited.
ALTER TABLE queries ADD COLUMN trace jsonb NOT NULL DEFAULT '{}'::jsonb;
