-- Ingestion: who submitted a document and under which trace, so a job re-enqueued after a restart
-- (by the reconciler, which has no request) still calls models as, and is billed to, the uploader.
ALTER TABLE documents ADD COLUMN submitted_identity jsonb;
ALTER TABLE documents ADD COLUMN trace_id text;
-- Lets the document list page by (created_at, id) without sorting the collection's documents.
CREATE INDEX documents_collection_created_idx ON documents (collection_id, created_at, id);
