-- The limit a document failed under, with its value then: {"name": "maxPages", "value": 2000}.
--
-- A failure whose cause is the file against a limit (too many pages, chunks or characters, an archive
-- that expands too far, a parse or chunking deadline, the parse workers' heap) was refused a retry for
-- good: the same bytes fail the same way. Once an operator raises that limit they no longer do, so the
-- retry route compares the limit in force with the one recorded here and lets the retry through when
-- it is higher. Written with error_code and cleared with it; NULL for every other failure, and for
-- documents that failed before this migration (whose retry stays refused: delete and upload again).
ALTER TABLE documents ADD COLUMN IF NOT EXISTS error_limit jsonb;
