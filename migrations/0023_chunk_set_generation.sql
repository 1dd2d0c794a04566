-- A counter per index version that moves with every change to the version's own chunk set
-- (index_version_id = the version): chunks written by a re-chunking build round, deleted (directly,
-- or by cascade from a deleted document; a replacement's swap deletes the document's chunks of every
-- set) or relabelled or edited (activation). Retrieval indexes such a set in memory for keyword
-- search (chunk-set-bm25.ts) and rebuilds it when this moves. It used to watch updated_at and
-- chunks_total, which only a build round moves, so a deleted document's terms went on counting in
-- N, df and the average length of every replay and benchmark of the version until a restart.
-- The triggers bump it in the transaction that changes the chunks, so whoever reads the new value
-- reads the new chunks after it. The active set (index_version_id NULL) has its own postings (0003)
-- and bumps nothing. The row lock it takes comes after the collection's lock and the document rows,
-- the order of @quire/index-versions collection-locks.ts (step 3's row, without the advisory lock:
-- no vector of the version is written).
ALTER TABLE index_versions ADD COLUMN chunk_set_generation bigint NOT NULL DEFAULT 0;

CREATE FUNCTION chunk_set_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
   WHERE v.id IN (SELECT n.index_version_id FROM new_rows n WHERE n.index_version_id IS NOT NULL);
  RETURN NULL;
END;
$$;
CREATE FUNCTION chunk_set_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
   WHERE v.id IN (SELECT o.index_version_id FROM old_rows o WHERE o.index_version_id IS NOT NULL);
  RETURN NULL;
END;
$$;
CREATE FUNCTION chunk_set_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
   WHERE v.id IN (SELECT o.index_version_id FROM old_rows o WHERE o.index_version_id IS NOT NULL
                  UNION SELECT n.index_version_id FROM new_rows n WHERE n.index_version_id IS NOT NULL);
  RETURN NULL;
END;
$$;
-- Statement triggers, once per statement (a version deleted in the same statement is simply not
-- found). Named after chunks_bm25_delete, so on a delete the postings go first, as before.
CREATE TRIGGER chunks_set_generation_insert AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_inserted();
CREATE TRIGGER chunks_set_generation_delete AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_deleted();
CREATE TRIGGER chunks_set_generation_update AFTER UPDATE ON chunks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_updated();
