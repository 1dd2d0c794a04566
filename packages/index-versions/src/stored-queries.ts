import type { Queryable } from '@quire/db';

/*
 * Stored queries and conversations (retrieval's tables) carry text of the documents they drew on:
 * the answer, the citations' quotes, a follow-up's rewritten query, and conversation turns that
 * repeat question and answer. Ingestion deletes and replaces documents and deletes collections, so
 * it calls these inside those transactions: the text goes with its source, or neither commits.
 *
 * One lock order for these tables, as collection-locks.ts has one for index work: query rows (by id),
 * then conversation turns (by id), then conversation rows. Everything that deletes or redacts them
 * follows it (here, and retrieval's routes and retention sweep), so a document delete, a collection
 * delete and a conversation delete that meet on the same rows wait for each other instead of
 * deadlocking (40P01 on a PostgreSQL server). A multi-row DELETE or a cascade locks rows in whatever
 * order the plan meets them, hence the explicit `ORDER BY id FOR UPDATE` before each. Recording
 * (`appendTurns`) key-share locks its query row, then the conversation's, and only inserts turns.
 */

/** Locks the turns `where` picks, in id order, then deletes them. */
async function deleteTurns(tx: Queryable, where: string, params: unknown[]): Promise<void> {
  const locked = await tx.query<{ id: string }>(`SELECT t.id FROM conversation_turns t WHERE ${where} ORDER BY t.id FOR UPDATE`, params);
  if (locked.rows.length > 0) await tx.query(`DELETE FROM conversation_turns WHERE id = ANY($1::bigint[])`, [locked.rows.map((r) => r.id)]);
}

/** Deletes the turns of these queries, in the lock order above (the caller holds the query rows). */
export async function deleteTurnsOfQueries(tx: Queryable, queryIds: readonly string[]): Promise<void> {
  if (queryIds.length > 0) await deleteTurns(tx, `t.query_id = ANY($1::uuid[])`, [queryIds]);
}

/** Deletes a conversation's turns, in the lock order above; its row is then deleted by the caller. */
export async function deleteTurnsOfConversation(tx: Queryable, conversationId: string): Promise<void> {
  await deleteTurns(tx, `t.conversation_id = $1`, [conversationId]);
}

/**
 * Deletes the queries asked of the collection (alone or with others: a multi-collection answer may
 * quote it), their feedback (by cascade) and conversation turns, and the conversations started on
 * it. A conversation of other collections that held one of the deleted queries' turns keeps its
 * remaining turns. The usage ledger keeps its rows: ids and counts, no text.
 */
export async function forgetCollectionQueries(tx: Queryable, collectionId: string): Promise<{ queries: number; conversations: number }> {
  const locked = await tx.query<{ id: string }>(
    `SELECT id FROM queries WHERE collection_ids @> ARRAY[$1::uuid] OR collection_id = $1 ORDER BY id FOR UPDATE`,
    [collectionId],
  );
  const ids = locked.rows.map((r) => r.id);
  await deleteTurns(tx, `t.query_id = ANY($1::uuid[]) OR t.conversation_id IN (SELECT id FROM conversations WHERE collection_ids @> ARRAY[$2::uuid])`, [ids, collectionId]);
  if (ids.length > 0) await tx.query(`DELETE FROM queries WHERE id = ANY($1::uuid[])`, [ids]);
  const conversations = await tx.query(`DELETE FROM conversations WHERE collection_ids @> ARRAY[$1::uuid]`, [collectionId]);
  return { queries: ids.length, conversations: conversations.rowCount };
}

/**
 * The documents were deleted, or replaced by a new version (the id stays, the text it had is gone):
 * every query whose results or citations name one of them loses its answer, rewritten query and
 * quotes (`redacted_at` set; ids, scores, timings and feedback stay, so statistics still count it),
 * and its conversation turns are deleted, so no later follow-up sends that text to a model. The
 * conversations themselves stay and can be continued. Returns how many queries it redacted.
 */
export async function redactQueriesOfDocuments(tx: Queryable, documentIds: readonly string[]): Promise<number> {
  if (documentIds.length === 0) return 0;
  const locked = await tx.query<{ id: string; redacted: boolean }>(
    `SELECT id, redacted_at IS NOT NULL AS redacted FROM queries WHERE document_ids && $1::uuid[] ORDER BY id FOR UPDATE`,
    [documentIds],
  );
  if (locked.rows.length === 0) return 0;
  const fresh = locked.rows.filter((r) => !r.redacted).map((r) => r.id);
  if (fresh.length > 0) {
    // redact_citations: migrations/0022_query_lifecycle.sql.
    await tx.query(
      `UPDATE queries SET answer = NULL, rewritten_query = NULL, citations = redact_citations(citations), redacted_at = now() WHERE id = ANY($1::uuid[])`,
      [fresh],
    );
  }
  // Of the ones redacted before too: a cheap check that none is left, whatever happened before.
  await deleteTurnsOfQueries(tx, locked.rows.map((r) => r.id));
  return fresh.length;
}
