-- Migration 0023 bumped chunk_set_generation from three functions that differed only in which
-- transition table they read. One function now serves the three statement triggers: PostgreSQL lets
-- a trigger with transition tables fire on one event only, so the triggers stay three, and
-- PL/pgSQL plans a statement when it first runs, so a branch may name a transition table that only
-- its own event has. Behaviour is unchanged (same triggers, same order, same row lock).
CREATE FUNCTION chunk_set_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
     WHERE v.id IN (SELECT n.index_version_id FROM new_rows n WHERE n.index_version_id IS NOT NULL);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
     WHERE v.id IN (SELECT o.index_version_id FROM old_rows o WHERE o.index_version_id IS NOT NULL);
  ELSE
    UPDATE index_versions v SET chunk_set_generation = v.chunk_set_generation + 1
     WHERE v.id IN (SELECT o.index_version_id FROM old_rows o WHERE o.index_version_id IS NOT NULL
                    UNION SELECT n.index_version_id FROM new_rows n WHERE n.index_version_id IS NOT NULL);
  END IF;
  RETURN NULL;
END;
$$;

DROP TRIGGER chunks_set_generation_insert ON chunks;
DROP TRIGGER chunks_set_generation_delete ON chunks;
DROP TRIGGER chunks_set_generation_update ON chunks;
CREATE TRIGGER chunks_set_generation_insert AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_changed();
CREATE TRIGGER chunks_set_generation_delete AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_changed();
CREATE TRIGGER chunks_set_generation_update AFTER UPDATE ON chunks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_set_changed();
DROP FUNCTION chunk_set_inserted();
DROP FUNCTION chunk_set_deleted();
DROP FUNCTION chunk_set_updated();
