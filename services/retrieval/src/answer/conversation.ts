import { randomUUID } from 'node:crypto';
import { isUuid, type Identity } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { deleteTurnsOfConversation } from '@quire/stored-queries';
import { AppError } from '@quire/server-kit';
import { deleterSql, drewOnHiddenSql } from '../queries/query-repository.js';
import { isRefusal } from './prompt.js';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  /** A stored turn's query (`loadHistory`): what a rewrite from it drew on (`QueryRecordInput.rewrittenFrom`). */
  queryId?: string;
}

/** Turns of history a rewrite sees: enough for "and the second one?", small enough to stay cheap. */
export const HISTORY_TURNS = 8;

/** Characters of one turn a rewrite sees. */
export const HISTORY_TURN_CHARS = 1500;

/**
 * Characters of history a rewrite sees in all. A reference ("and the second one?") points at the
 * last turns, so when the budget runs out the oldest turns go first.
 */
export const HISTORY_CHARS = 6000;

/**
 * The part of a history a rewrite sees: the last HISTORY_TURNS turns, each cut to
 * HISTORY_TURN_CHARS, newest first into HISTORY_CHARS. Stored conversations are already read
 * HISTORY_TURNS at a time; the history an OpenAI client sends with each request is not.
 */
export function recentHistory(history: Turn[]): Turn[] {
  const kept: Turn[] = [];
  let budget = HISTORY_CHARS;
  for (const turn of history.slice(-HISTORY_TURNS).reverse()) {
    if (budget <= 0) break;
    const content = turn.content.slice(0, Math.min(HISTORY_TURN_CHARS, budget));
    kept.push({ role: turn.role, content });
    budget -= content.length;
  }
  return kept.reverse();
}

/**
 * The conversation's recent turns (oldest first). The rule of `findQuery` holds for the whole
 * conversation, since its answers go into the rewrite and can come back in `rewritten_query`: the key
 * that started it continues it, another key of the team only when it may read everything each of
 * its queries drew on (a turn whose query row is gone counts as drawing on something hidden).
 * Anyone else, like another team, gets a 404. Each turn names its query, so that recording the
 * follow-up can check that none of them was redacted meanwhile (`insertQuery`'s `rewrittenFrom`).
 */
export async function loadHistory(db: Queryable, identity: Identity, conversationId: string): Promise<Turn[]> {
  const notFound = new AppError('not_found', `No conversation ${conversationId}.`, { param: 'conversation_id' });
  if (!isUuid(conversationId)) throw notFound;
  const owner = await db.query(
    `SELECT 1 FROM conversations cv WHERE cv.id = $1 AND cv.team_id = $2
  AND (cv.key_id = $3 OR NOT EXISTS (
    SELECT 1 FROM conversation_turns t LEFT JOIN queries q ON q.id = t.query_id
    WHERE t.conversation_id = cv.id AND (q.id IS NULL OR ${drewOnHiddenSql('q', '$4')})))`,
    [conversationId, identity.team_id, identity.key_id, identity.groups],
  );
  if (owner.rows.length === 0) throw notFound;
  // Only turns whose query still stands unredacted: a document deleted or replaced since redacts the
  // queries that drew on it and deletes their turns, but a turn appended after that (its answer was
  // being generated meanwhile) would otherwise send the old text to the rewrite model.
  const r = await db.query<Turn>(
    `SELECT role, content, query_id AS "queryId" FROM (
  SELECT t.id, t.role, t.content, t.query_id FROM conversation_turns t
  WHERE t.conversation_id = $1 AND EXISTS (SELECT 1 FROM queries q WHERE q.id = t.query_id AND q.redacted_at IS NULL)
  ORDER BY t.id DESC LIMIT ${HISTORY_TURNS}) t ORDER BY id`,
    [conversationId],
  );
  return r.rows;
}

/**
 * Deletes a conversation and its turns for whoever may delete its queries (`deleterSql`:
 * the turns repeat their text, so the same people may remove either); false when there is none, also
 * for other callers', so the route answers 404. The queries asked in it stay, each deletable with
 * `DELETE /v1/queries/:id`.
 */
export async function deleteConversation(db: Db, identity: Pick<Identity, 'team_id' | 'key_id' | 'role'>, conversationId: string): Promise<boolean> {
  if (!isUuid(conversationId)) return false;
  const params = [conversationId, identity.team_id, identity.key_id, identity.role];
  return db.transaction(async (tx) => {
    const mine = await tx.query(`SELECT 1 FROM conversations cv WHERE cv.id = $1 AND ${deleterSql('cv')}`, params);
    if (mine.rows.length === 0) return false;
    // Turns before the conversation row (the lock order of @quire/stored-queries);
    // the cascade then takes any turn appended in between.
    await deleteTurnsOfConversation(tx, conversationId);
    const r = await tx.query(`DELETE FROM conversations cv WHERE cv.id = $1 AND ${deleterSql('cv')}`, params);
    return r.rowCount > 0;
  });
}

/**
 * Records a question and its answer, creating the conversation on its first turn. One transaction:
 * the conversation row's lock (the upsert takes it) makes two answers of one conversation append in
 * turn, so each question stays next to its answer in the turns' order. Nothing is written when the
 * query was not recorded (its collection was deleted meanwhile), and no turn when it is redacted (a
 * document it drew on was deleted or replaced): the query row's key-share lock makes a delete in
 * flight finish first, or wait for this and then delete these turns too (@quire/stored-queries).
 */
export async function appendTurns(db: Db, identity: Identity, conversationId: string, collectionIds: string[], queryId: string, question: string, answer: string): Promise<void> {
  await db.transaction(async (tx) => {
    const query = await tx.query<{ standing: boolean }>(`SELECT redacted_at IS NULL AS standing FROM queries WHERE id = $1 FOR KEY SHARE`, [queryId]);
    if (!query.rows[0]) return;
    await tx.query(
      `INSERT INTO conversations (id, team_id, key_id, collection_ids) VALUES ($1, $2, $3, $4::uuid[])
       ON CONFLICT (id) DO UPDATE SET updated_at = now()`,
      [conversationId, identity.team_id, identity.key_id, collectionIds],
    );
    // A redacted one still opens the conversation, which can go on without this turn.
    if (!query.rows[0].standing) return;
    await tx.query(
      `INSERT INTO conversation_turns (conversation_id, query_id, role, content) VALUES ($1, $2, 'user', $3), ($1, $2, 'assistant', $4)`,
      [conversationId, queryId, question, answer],
    );
  });
}

export function newConversationId(): string {
  return randomUUID();
}

export const REWRITE_PROMPT = [
  'Rewrite the last user question of the conversation into one standalone search query that can be understood',
  'without the conversation (resolve pronouns and references). Output only the query, with no quotes or explanation.',
].join(' ');

/**
 * A follow-up ("and on Sundays?") rewritten into a standalone query by a model call with purpose
 * `rewrite` (metered against the query). Without history the question is already standalone.
 */
export async function rewriteFollowUp(models: GatewayModels, model: string, call: Omit<GatewayCallContext, 'purpose'>, history: Turn[], question: string, abortSignal?: AbortSignal): Promise<string> {
  if (history.length === 0) return question;
  const transcript = recentHistory(history).map((t) => `${t.role === 'user' ? 'User' : 'Assistant'}: ${t.content}`).join('\n');
  const generation = models.generationModel(model, { ...call, purpose: 'rewrite' });
  const result = await generation.doGenerate({
    messages: [
      { role: 'system', content: REWRITE_PROMPT },
      { role: 'user', content: `Conversation:\n${transcript}\n\nLast user question: ${question}` },
    ],
    ...(abortSignal ? { abortSignal } : {}),
  });
  const rewritten = result.text.trim().replace(/^["']|["']$/g, '').split('\n')[0]!.trim();
  // A model that answers instead of rewriting (or returns nothing) must not derail retrieval.
  return looksLikeQuery(rewritten) ? rewritten : question;
}

/**
 * Whether a rewrite is a query rather than an answer: models asked to rewrite sometimes answer, refuse
 * in the words the answer prompt taught them, or cite sources. Such text would be searched for instead
 * of the question.
 */
export function looksLikeQuery(rewritten: string): boolean {
  if (rewritten.length === 0 || rewritten.length > 1000) return false;
  if (/\[\d{1,3}(?:\s*,\s*\d{1,3})*\]/.test(rewritten)) return false;
  return !isRefusal(rewritten, 'rewrite');
}
