-- Keyword search is BM25 over bm25_postings (0003). The generated tsvector column and its GIN index
-- from 0001 fed an older ts_rank_cd retriever that nothing constructs any more, yet every chunk
-- written paid for both: about 0.35 ms a chunk, some 12% of indexing's database work in PGlite.
DROP INDEX IF EXISTS chunks_tsv_idx;
ALTER TABLE chunks DROP COLUMN IF EXISTS tsv;
