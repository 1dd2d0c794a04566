import type { Identity, SearchMode } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import type { RetrievalTrace, RetrievedChunk } from '../search/search-pipeline.js';

export type QueryStatus = 'ok' | 'error' | 'cancelled';

export interface QueryRecordInput {
  id: string;
  identity: Identity;
  collectionId: string;
  kind: 'search' | 'answer';
  query: string;
  mode: SearchMode | null;
  status: QueryStatus;
  answer?: string | null;
  results: RetrievedChunk[];
  citations?: unknown[];
  timings: Record<string, number>;
  models: Record<string, string | null>;
  /** Multi-collection queries; `collectionId` is then the first of them. */
  collectionIds?: string[];
  conversationId?: string | null;
  rewrittenQuery?: string | null;
  /** Estimated tokens of the prompt sent to the generation model. */
  promptTokens?: number | null;
  noAnswer?: boolean | null;
  trace?: RetrievalTrace;
}

/** What a query row keeps of its results: ids and scores, not text (the chunks hold that). */
export function resultsSummary(results: RetrievedChunk[]): { rank: number; chunk_id: string; document_id: string; score: number; scores: RetrievedChunk['scores']; collection_id?: string }[] {
  return results.map((r) => ({ rank: r.rank, chunk_id: r.chunkId, document_id: r.documentId, score: r.score, scores: r.scores, ...(r.collectionId ? { collection_id: r.collectionId } : {}) }));
}

export async function insertQuery(db: Queryable, q: QueryRecordInput): Promise<void> {
  await db.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, kind, query, mode, status, answer, results, citations, timings_ms, models,
  collection_ids, conversation_id, rewritten_query, prompt_tokens, no_answer, latency_ms, trace)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12::jsonb, $13::jsonb, $14::uuid[], $15, $16, $17, $18, $19, $20::jsonb)`,
    [
      q.id,
      q.identity.team_id,
      q.identity.key_id,
      q.collectionId,
      q.kind,
      q.query,
      q.mode,
      q.status,
      q.answer ?? null,
      JSON.stringify(resultsSummary(q.results)),
      JSON.stringify(q.citations ?? []),
      JSON.stringify(q.timings),
      JSON.stringify(q.models),
      q.collectionIds ?? [q.collectionId],
      q.conversationId ?? null,
      q.rewrittenQuery ?? null,
      q.promptTokens ?? null,
      q.noAnswer ?? null,
      q.timings.total === undefined ? null : Math.round(q.timings.total),
      JSON.stringify(q.trace ?? {}),
    ],
  );
}

export interface StoredQuery {
  id: string;
  collection_id: string | null;
  kind: 'search' | 'answer';
  query: string;
  mode: string | null;
  status: QueryStatus;
  answer: string | null;
  results: unknown[];
  citations: unknown[];
  timings_ms: Record<string, number>;
  models: Record<string, string | null>;
  trace: Partial<RetrievalTrace>;
  created_at: string;
  collection_ids: string[] | null;
  conversation_id: string | null;
  rewritten_query: string | null;
  prompt_tokens: number | null;
  no_answer: boolean | null;
  latency_ms: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * SQL: the document `d` is hidden from a caller with `groups` (an SQL text[] parameter): search's
 * rule (`scopeConditions`), which gives no role a bypass. Also used by evaluation (eval/reader-access.ts).
 */
export function documentHiddenSql(d: string, groups: string): string {
  return `NOT (${d}.access_groups = '{}' OR ${d}.access_groups && ${groups}::text[])`;
}

/**
 * SQL: the stored query `q` drew on something `$groups` may not read. The documents its results and
 * citations name (a document deleted since counts as unreadable: its text may be in the answer), and
 * the chunks its trace ranked. Same access rule as search (`scopeConditions`). `q` may be any row
 * with jsonb `results` and `citations` arrays (items naming `document_id`) and a jsonb `trace`.
 */
export function drewOnHiddenSql(q: string, groups: string): string {
  const hidden = documentHiddenSql('d', groups);
  return `(EXISTS (
    SELECT 1 FROM (
      SELECT r ->> 'document_id' AS id FROM jsonb_array_elements(${q}.results) r
      UNION SELECT ci ->> 'document_id' FROM jsonb_array_elements(${q}.citations) ci
    ) used
    LEFT JOIN documents d ON d.id = used.id::uuid
    WHERE used.id IS NOT NULL AND (d.id IS NULL OR ${hidden}))
  OR EXISTS (
    SELECT 1 FROM jsonb_path_query(${q}.trace, 'strict $.**.chunk_id') tc
    JOIN chunks c ON c.id = (tc #>> '{}')::uuid
    JOIN documents d ON d.id = c.document_id
    WHERE ${hidden}))`;
}

/**
 * A query the caller may read, or null (also for malformed ids, which cannot exist). The key that
 * asked it reads it; another key of the team only when it may read everything the query drew on,
 * since the answer and quotes carry text of those documents. Otherwise it is missing, not
 * forbidden, so ids reveal nothing. Organisation admins get no wider reach: search keeps them to
 * their groups too.
 */
export async function findQuery(db: Queryable, identity: Pick<Identity, 'team_id' | 'key_id' | 'groups'>, id: string): Promise<StoredQuery | null> {
  if (!UUID.test(id)) return null;
  const result = await db.query<StoredQuery & { results: unknown; citations: unknown; timings_ms: unknown; models: unknown; trace: unknown }>(
    `SELECT q.id, q.collection_id, q.kind, q.query, q.mode, q.status, q.answer, q.results, q.citations, q.timings_ms, q.models, q.trace,
  q.collection_ids, q.conversation_id, q.rewritten_query, q.prompt_tokens, q.no_answer, q.latency_ms,
  to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
FROM queries q WHERE q.id = $1 AND q.team_id = $2
  AND (q.key_id = $3 OR NOT ${drewOnHiddenSql('q', '$4')})`,
    [id, identity.team_id, identity.key_id, identity.groups],
  );
  const row = result.rows[0];
  if (!row) return null;
  // Drivers differ on whether jsonb arrives parsed; accept both.
  const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
  return {
    ...row,
    results: json(row.results),
    citations: json(row.citations),
    timings_ms: json(row.timings_ms),
    models: json(row.models),
    trace: json(row.trace),
  };
}
