-- Audit ids become visible in id order. Ids come from a sequence when a row is formed, but
-- transactions commit in any order, so without this a row with a lower id could appear after one with
-- a higher id, behind the cursor of a reader paging GET /v1/audit (id descending), who would never
-- see it. A statement trigger runs before the statement forms its rows (and draws its ids), and the
-- advisory lock it takes is held until the transaction ends: an id is drawn only once every earlier
-- writer has committed or rolled back. In the database, not in one service's code, because the
-- gateway, retrieval (promotions) and ingestion (activations) all write audit rows. Audit writes
-- are rare (administrative changes, refusals in background batches), so the queue costs nothing that
-- matters. An audit row must be the last statement of its transaction: a holder that went on to wait
-- for another lock could deadlock with a writer queued here. The key is "quireAud" in ASCII, above
-- the int4 range of Quire's other advisory locks.
CREATE FUNCTION audit_log_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(8175556638606980452);
  RETURN NULL;
END $$;
CREATE TRIGGER audit_log_in_order BEFORE INSERT ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_in_order();
