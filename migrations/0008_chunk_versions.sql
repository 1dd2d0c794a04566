-- Index versions that change chunking keep their own chunk set until they are activated.
-- index_version_id NULL = the collection's active chunk set (what search, BM25 and every version
-- with the collection's chunking read). A set with an id belongs to that version only: a build that
-- re-chunks writes it, activation swaps it with the active set (the old set takes the old version's
-- id), and deleting the version removes it.
ALTER TABLE chunks ADD COLUMN index_version_id uuid REFERENCES index_versions (id) ON DELETE CASCADE;
ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_ordinal_key;
CREATE UNIQUE INDEX chunks_document_ordinal_key ON chunks (document_id, ordinal) WHERE index_version_id IS NULL;
CREATE UNIQUE INDEX chunks_version_document_ordinal_key ON chunks (index_version_id, document_id, ordinal) WHERE index_version_id IS NOT NULL;
