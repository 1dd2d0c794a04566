-- A collection's documents in one status, in list order (`GET /v1/collections/:id/documents?status=`).
--
-- The list pages on (created_at, id). Without this index a status filter either walks
-- documents_collection_created_idx and drops every row in another status, or reads every row in the
-- status from documents_collection_status_idx and sorts them. A status's rows come in runs (a bulk
-- upload still queued, a batch failed during a provider outage), so the first page of the queued
-- documents behind 900,000 ready ones read all 900,000 (230 ms on PostgreSQL 15, and linear in the
-- collection). With it each page is a range scan of its own rows. Documents only, as the list: a
-- replacement row (`replaces_document_id`) is listed as its document's `replacement`, never itself.
CREATE INDEX IF NOT EXISTS documents_collection_status_created_idx ON documents (collection_id, status, created_at, id)
  WHERE replaces_document_id IS NULL;
