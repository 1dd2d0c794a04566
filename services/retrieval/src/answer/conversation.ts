import { randomUUID } from 'node:crypto';
import type { Identity } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { AppError } from '@quire/server-kit';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** Turns of history a rewrite sees: enough for "and the second one?", small enough to stay cheap. */
export const HISTORY_TURNS = 8;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The conversation's recent turns (oldest first); a conversation of another team is a 404. */
export async function loadHistory(db: Queryable, identity: Identity, conversationId: string): Promise<Turn[]> {
  const notFound = new AppError('not_found', `No conversation ${conversationId}.`, { param: 'conversation_id' });
  if (!UUID.test(conversationId)) throw notFound;
  const owner = await db.query(`SELECT 1 FROM conversations WHERE id = $1 AND team_id = $2`, [conversationId, identity.team_id]);
  if (owner.rows.length === 0) throw notFound;
  const r = await db.query<Turn>(
    `SELECT role, content FROM (SELECT id, role, content FROM conversation_turns WHERE conversation_id = $1 ORDER BY id DESC LIMIT ${HISTORY_TURNS}) t ORDER BY id`,
    [conversationId],
  );
  return r.rows;
}

/** Records a question and its answer, creating the conversation on its first turn. */
export async function appendTurns(db: Queryable, identity: Identity, conversationId: string, collectionIds: string[], queryId: string, question: string, answer: string): Promise<void> {
  await db.query(
    `INSERT INTO conversations (id, team_id, key_id, collection_ids) VALUES ($1, $2, $3, $4::uuid[])
     ON CONFLICT (id) DO UPDATE SET updated_at = now()`,
    [conversationId, identity.team_id, identity.key_id, collectionIds],
  );
  await db.query(
    `INSERT INTO conversation_turns (conversation_id, query_id, role, content) VALUES ($1, $2, 'user', $3), ($1, $2, 'assistant', $4)`,
    [conversationId, queryId, question, answer],
  );
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
  const transcript = history.map((t) => `${t.role === 'user' ? 'User' : 'Assistant'}: ${t.content.slice(0, 1500)}`).join('\n');
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
  return rewritten.length > 0 && rewritten.length <= 1000 ? rewritten : question;
}
