-- Chunks by document, whichever chunk set they belong to. The only document-leading indexes on
-- chunks are partial (0008: the active set's (document_id, ordinal), and each version's set led by
-- index_version_id), so re-indexing a document (DELETE FROM chunks WHERE document_id = ...) and the
-- cascade from a deleted or replaced document scanned every chunk of every collection: about 1 ms
-- a document at 1,600 chunks, growing with the database.
CREATE INDEX chunks_document_idx ON chunks (document_id);
