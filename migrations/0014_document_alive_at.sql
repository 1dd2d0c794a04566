-- Liveness apart from progress for ingestion attempts.
--
-- alive_at  the attempt holding a `processing` document refreshes this every few seconds while its
--           process runs, whatever the attempt is doing; progress writes refresh it too. Once it is
--           older than the dead-after time (QUIRE_INGEST_DEAD_AFTER_MS), the holder is gone (killed,
--           restarted) and a redelivery or the reconciler takes the document over at once, instead
--           of waiting out the much longer no-progress time (heartbeat_at, QUIRE_INGEST_STALE_AFTER_MS).
--           NULL (rows from before this column, or written by an older worker): heartbeat_at stands in.
ALTER TABLE documents ADD COLUMN alive_at timestamptz;
