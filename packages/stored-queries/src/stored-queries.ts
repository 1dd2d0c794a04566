import type { Queryable } from '@quire/db';

/*
 * Stored queries and conversations (retrieval's tables) carry text of the documents they drew on:
 * the answer, the citations' quotes, a follow-up's rewritten query, conversation turns that repeat
 * question and answer, and feedback comments that may quote them; so do evaluation's benchmark
 * results (answers, judges' reasons) and synthetic eval cases (reference answers). Ingestion
 * deletes and replaces documents and deletes collections, so it calls these inside those
 * transactions: the text goes with its source, or neither commits.
 *
 * One lock order for these tables, as collection-locks.ts has one for index work: query rows (by id),
 * then conversation turns (by id), then conversation rows. Everything that deletes or redacts them
 * follows it (here, and retrieval's routes and retention sweep), so a document delete, a collection
 * delete and a conversation delete that meet on the same rows wait for each other instead of
 * deadlocking (40P01 on a PostgreSQL server). A multi-row DELETE or a cascade locks rows in whatever
 * order the plan meets them, hence the explicit `ORDER BY id FOR UPDATE` before each. Recording
 * (`appendTurns`) key-share locks its query row, then the conversation's, and only inserts turns.
 * Feedback rows are only written under their query row's lock (the foreign key's key-share lock, or
 * the redaction's FOR UPDATE), so they need no place of their own in the order. Benchmark results
 * and eval cases come last (after conversation rows): a benchmark result is recorded under key-share
 * locks on its documents and its query row, taken in that order (retrieval's eval/benchmark-repo.ts).
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
 * quotes (`redacted_at` set; ids, scores, timings and feedback ratings stay, so statistics still
 * count it), its feedback loses its comments (a comment may quote the answer: "it is 417, not 400"),
 * and its conversation turns are deleted, so no later follow-up sends that text to a model. The
 * conversations themselves stay and can be continued.
 *
 * A follow-up asked after it in the same conversation, before it was redacted, had its question
 * rewritten by a model that saw its turns, and was answered from a prompt holding that rewrite
 * (retrieval's prompt.ts): its rewrite and answer may carry the same words, so it is redacted the
 * same way (and with its turns, so do the follow-ups after it, whose rewrites saw those). A
 * follow-up being recorded while this runs key-share locks the queries whose turns its rewrite saw
 * (retrieval's `insertQuery`): it commits first and is locked with the rest (`lockQueriesToRedact`),
 * or it waits for this and then sees them redacted and is recorded redacted. The evaluation data
 * drawn from them goes too (`redactEvaluationOfDocuments`). Returns how many queries it redacted.
 */
export async function redactQueriesOfDocuments(tx: Queryable, documentIds: readonly string[]): Promise<number> {
  if (documentIds.length === 0) return 0;
  const redacted = await redactStoredQueries(tx, documentIds);
  await redactEvaluationOfDocuments(tx, documentIds);
  return redacted;
}

async function redactStoredQueries(tx: Queryable, documentIds: readonly string[]): Promise<number> {
  const locked = await lockQueriesToRedact(tx, documentIds);
  if (!locked.some((r) => r.drew)) return 0;
  const fresh = locked.filter((r) => !r.redacted).map((r) => r.id);
  if (fresh.length > 0) {
    // redact_citations: migrations/0022_query_lifecycle.sql.
    await tx.query(
      `UPDATE queries SET answer = NULL, rewritten_query = NULL, citations = redact_citations(citations), redacted_at = now() WHERE id = ANY($1::uuid[])`,
      [fresh],
    );
  }
  // Of the ones redacted before too: a cheap check that nothing is left, whatever happened before.
  const all = locked.map((r) => r.id);
  await tx.query(`UPDATE query_feedback SET comment = NULL WHERE query_id = ANY($1::uuid[]) AND comment IS NOT NULL`, [all]);
  await deleteTurnsOfQueries(tx, all);
  return fresh.length;
}

interface QueryToRedact {
  id: string;
  /** Redacted before (by an earlier delete). */
  redacted: boolean;
  /** Drew on the documents itself (else a later follow-up of one that did). */
  drew: boolean;
}

/** Tries of `lockQueriesToRedact` before it takes late finds in a second statement. */
const LOCK_TRIES = 5;

/**
 * Locks, FOR UPDATE in one id order, the queries that drew on the documents and their conversations'
 * later follow-ups (a follow-up asked after the query was redacted never saw its turns).
 *
 * The statement that locks them reads the rows it picks with the snapshot it started with, so a
 * follow-up that committed while it waited for a lock (an answer being recorded holds a key-share lock
 * on the queries its rewrite saw) is not among them; a second look finds it. Locking it then, while
 * holding the rest, would take rows out of id order: another redaction in the conversation that saw it
 * could hold it and wait for one of ours (a deadlock, 40P01). So the locks are taken under a savepoint
 * and, when the second look finds more, given back (rolling back to a savepoint releases the row
 * locks taken after it) and taken again by one statement whose new snapshot holds the late follow-up.
 * A try finds more only when a follow-up in the conversation committed during its lock wait, so a
 * second try is rare and a fifth takes follow-ups faster than a person asks; past LOCK_TRIES the late
 * ones are locked in a second statement rather than looping on, which may deadlock as above (the
 * server aborts one of the two transactions, and the caller's delete fails with a retryable 500).
 */
async function lockQueriesToRedact(tx: Queryable, documentIds: readonly string[]): Promise<QueryToRedact[]> {
  await tx.query('SAVEPOINT quire_redaction_locks');
  for (let tries = 1; ; tries++) {
    const locked = (
      await tx.query<QueryToRedact>(
        `SELECT q.id, q.redacted_at IS NOT NULL AS redacted, q.document_ids && $1::uuid[] AS drew FROM queries q
  WHERE q.id IN (SELECT id FROM queries WHERE document_ids && $1::uuid[]
    UNION ${laterFollowUpsSql('r.document_ids && $1::uuid[] AND (r.redacted_at IS NULL OR l.created_at <= r.redacted_at)')})
  ORDER BY q.id FOR UPDATE OF q`,
        [documentIds],
      )
    ).rows;
    // A new statement, so it sees a follow-up that committed while the locks above waited.
    const seen = new Set(locked.map((r) => r.id));
    const drewFresh = locked.filter((r) => r.drew && !r.redacted).map((r) => r.id);
    const late = drewFresh.length === 0 ? [] : (await tx.query<{ id: string }>(laterFollowUpsSql('r.id = ANY($1::uuid[])'), [drewFresh])).rows.map((r) => r.id).filter((id) => !seen.has(id));
    if (late.length === 0 || tries === LOCK_TRIES) {
      const more = late.length === 0 ? [] : (await tx.query<{ id: string; redacted: boolean }>(`SELECT id, redacted_at IS NOT NULL AS redacted FROM queries WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [late])).rows;
      await tx.query('RELEASE SAVEPOINT quire_redaction_locks');
      return [...locked, ...more.map((r) => ({ ...r, drew: false }))];
    }
    await tx.query('ROLLBACK TO SAVEPOINT quire_redaction_locks');
  }
}

/**
 * SQL: ids (`l.id`) of the follow-ups (queries with a rewritten question) asked in the conversation
 * of a query `r` that `condition` picks, at its time or after it.
 */
function laterFollowUpsSql(condition: string): string {
  return `SELECT l.id FROM queries r JOIN queries l ON l.conversation_id = r.conversation_id AND l.created_at >= r.created_at AND l.id <> r.id
  WHERE ${condition} AND r.conversation_id IS NOT NULL AND l.rewritten_query IS NOT NULL`;
}

/**
 * Evaluation data drawn from the documents (deleted, or replaced: their text is gone). A benchmark
 * result whose ranked or cited documents include one loses its answer and its judge's reason, which
 * may quote the answer (`redacted_at` set; metrics, ranked and cited ids and timings stay, so the
 * run's figures do not change and its cases are not run again). A synthetic eval case judging one
 * loses its reference answer, which restates the passage it was generated from; its question stays
 * (a case needs one, and it asks rather than states), and so does a person's case: its question
 * and reference answer are the set's content, and the run lists the case as stale once its
 * document is gone. redact_benchmark_details: migrations/0025_redaction_gaps.sql.
 */
export async function redactEvaluationOfDocuments(tx: Queryable, documentIds: readonly string[]): Promise<void> {
  if (documentIds.length === 0) return;
  await tx.query(
    `UPDATE benchmark_results SET answer = NULL, details = redact_benchmark_details(details), redacted_at = now()
      WHERE document_ids && $1::uuid[] AND redacted_at IS NULL`,
    [documentIds],
  );
  // One containment test per document: the GIN index answers `@>`, not `@> ANY`.
  for (const id of new Set(documentIds)) {
    await tx.query(`UPDATE eval_cases SET reference_answer = NULL WHERE relevant @> $1::jsonb AND synthetic AND reference_answer IS NOT NULL`, [JSON.stringify([{ document_id: id }])]);
  }
}
