import { isUuid, type Identity, type SearchMode } from '@quire/contracts';
import { readJsonb, type Db, type Queryable } from '@quire/db';
import { z } from 'zod';
import { deleteTurnsOfQueries } from '@quire/stored-queries';
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
  /**
   * The stored queries whose conversation turns the rewrite saw (`loadHistory`): the rewrite, and the
   * answer to a prompt holding it, may repeat their answers' words, so the query is recorded redacted
   * when one of them was redacted meanwhile.
   */
  rewrittenFrom?: readonly string[];
  /** Estimated tokens of the prompt sent to the generation model. */
  promptTokens?: number | null;
  noAnswer?: boolean | null;
  trace?: RetrievalTrace;
}

/** What a query row keeps of its results: ids and scores, not text (the chunks hold that). */
export function resultsSummary(results: RetrievedChunk[]): { rank: number; chunk_id: string; document_id: string; score: number; scores: RetrievedChunk['scores']; collection_id?: string }[] {
  return results.map((r) => ({ rank: r.rank, chunk_id: r.chunkId, document_id: r.documentId, score: r.score, scores: r.scores, ...(r.collectionId ? { collection_id: r.collectionId } : {}) }));
}

/**
 * The documents a query drew on (its results' and citations' `document_id`s): stored as
 * `document_ids` so that deleting or replacing one finds the queries to redact by index
 * (`redactQueriesOfDocuments` in @quire/stored-queries).
 */
export function drawnDocumentIds(results: RetrievedChunk[], citations: unknown[]): string[] {
  const ids = new Set(results.map((r) => r.documentId));
  for (const c of citations) {
    const id = (c as { document_id?: unknown } | null)?.document_id;
    if (isUuid(id)) ids.add(id);
  }
  return [...ids];
}

/**
 * SQL for `insertQuery`'s insert: every collection in `$23` still exists, each key-share locked in id
 * order (as an answer's first statement locks them; re-locking a row its transaction holds waits for nothing).
 * Waiting on a row a delete holds, the lock reads the row again once the delete commits, finds it gone
 * and skips it, so the count falls short.
 */
const COLLECTIONS_LIVE = `(SELECT count(*) FROM (SELECT id FROM collections WHERE id = ANY($23::uuid[]) ORDER BY id FOR KEY SHARE) live) = cardinality($23::uuid[])`;

/**
 * Records a query, unless a collection it was asked of was deleted meanwhile (an answer takes
 * seconds; a collection delete deletes its queries, so this one must not appear after it). A query
 * whose results name a document deleted meanwhile, or a chunk that is gone (the document was
 * replaced, or its chunks were rewritten by an index version's activation, which redacts needlessly
 * but safely), is stored redacted as the delete would have left it.
 *
 * The insert itself key-share locks its collections' rows, in the same statement (`COLLECTIONS_LIVE`):
 * a collection delete holds its row FOR UPDATE from its start, so a record either commits first (the
 * delete waits for it, then deletes it with the collection's other queries) or waits for the delete
 * and then finds the row gone and inserts nothing ('dropped'). A check in an earlier statement would
 * not do: a search that read the collection before the delete committed, and inserted after the
 * delete had collected its queries, was left behind (its question and ids). No foreign key says the
 * same: a query names all its collections in `collection_ids`, an array. Only a collection delete
 * takes that row FOR UPDATE (settings changes and activations take FOR NO KEY UPDATE, which a
 * key-share lock does not wait for), so a search's record waits behind nothing else.
 *
 * An answer carries document text (the answer, its citations' quotes, a rewritten follow-up, and the
 * conversation turns that check its `redacted_at`), so its collections' and documents' rows are
 * key-share locked first: a delete or a replacement in flight commits before the checks below, or
 * waits for this insert and then finds the row to redact. A search stores no text of its documents
 * (the question, and result ids and scores), so it locks no document: locking would write a lock
 * marker (a MultiXact, on popular rows) into up to top_k documents' rows on every search, and make
 * each search wait behind a document writer's FOR UPDATE (a large replacement's swap). Its checks
 * read what has committed; a document delete in flight may leave a search unredacted (nothing in it
 * to blank). It pays the marker on its collections' rows, as every upload's foreign key does.
 */
export async function insertQuery(db: Db, q: QueryRecordInput): Promise<'recorded' | 'redacted' | 'dropped'> {
  const collectionIds = [...new Set(q.collectionIds ?? [q.collectionId])];
  const documentIds = drawnDocumentIds(q.results, q.citations ?? []);
  const chunkIds = [...new Set(q.results.map((r) => r.chunkId))];
  const lock = q.kind === 'answer' ? ' ORDER BY id FOR KEY SHARE' : '';
  const record = async (tx: Queryable): Promise<'recorded' | 'redacted' | 'dropped'> => {
    if (q.kind === 'answer') {
      // Collections before documents: the order of every other writer (@quire/index-versions collection-locks.ts).
      const live = await tx.query(`SELECT id FROM collections WHERE id = ANY($1::uuid[])${lock}`, [collectionIds]);
      if (live.rows.length < collectionIds.length) return 'dropped';
    }
    const docs = documentIds.length === 0 ? 0 : (await tx.query(`SELECT id FROM documents WHERE id = ANY($1::uuid[])${lock}`, [documentIds])).rows.length;
    // A statement of its own: it reads what a replacement that the lock above waited for committed.
    const chunks = chunkIds.length === 0 ? 0 : Number((await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE id = ANY($1::uuid[])`, [chunkIds])).rows[0]?.n ?? 0);
    // A follow-up's rewrite, and the answer to a prompt holding it, may repeat the answers of the
    // queries whose turns the rewrite saw: one of those redacted meanwhile redacts it too. Locked
    // after the documents, as a redaction takes them (documents, then query rows): one in flight
    // commits first and is seen here, or waits for this insert and then finds it as a later
    // follow-up (@quire/stored-queries `redactQueriesOfDocuments`).
    const from = q.rewrittenQuery ? [...new Set(q.rewrittenFrom ?? [])] : [];
    const rewrittenFromRedacted =
      from.length > 0 &&
      (await tx.query<{ redacted: boolean }>(`SELECT redacted_at IS NOT NULL AS redacted FROM queries WHERE id = ANY($1::uuid[])${lock}`, [from])).rows.some((r) => r.redacted);
    const redacted = docs < documentIds.length || chunks < chunkIds.length || rewrittenFromRedacted;
    const citations = (q.citations ?? []).map((c) => (redacted && c && typeof c === 'object' && 'quote' in c ? { ...c, quote: '' } : c));
    const inserted = await tx.query(
      `INSERT INTO queries (id, team_id, key_id, collection_id, kind, query, mode, status, answer, results, citations, timings_ms, models,
  collection_ids, conversation_id, rewritten_query, prompt_tokens, no_answer, latency_ms, trace, document_ids, redacted_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12::jsonb, $13::jsonb, $14::uuid[], $15, $16, $17, $18, $19, $20::jsonb, $21::uuid[],
  CASE WHEN $22::boolean THEN now() END
WHERE ${COLLECTIONS_LIVE}`,
      [
        q.id,
        q.identity.team_id,
        q.identity.key_id,
        q.collectionId,
        q.kind,
        q.query,
        q.mode,
        q.status,
        redacted ? null : (q.answer ?? null),
        JSON.stringify(resultsSummary(q.results)),
        JSON.stringify(citations),
        JSON.stringify(q.timings),
        JSON.stringify(q.models),
        q.collectionIds ?? [q.collectionId],
        q.conversationId ?? null,
        redacted ? null : (q.rewrittenQuery ?? null),
        q.promptTokens ?? null,
        q.noAnswer ?? null,
        q.timings.total === undefined ? null : Math.round(q.timings.total),
        JSON.stringify(q.trace ?? {}),
        documentIds,
        redacted,
        collectionIds,
      ],
    );
    // No row: a collection's delete committed before the insert could lock its row (a search checks
    // nowhere else). The caller still answers: its search read the collection before the delete
    // committed, as if it had finished a moment earlier and the delete had then taken its record.
    if (inserted.rowCount === 0) return 'dropped';
    return redacted ? 'redacted' : 'recorded';
  };
  // A search locks only in its insert, a statement of its own: it needs no transaction.
  return q.kind === 'answer' ? db.transaction(record) : record(db);
}

const ScoredChunkSchema = z.object({ chunk_id: z.string(), score: z.number() });

/**
 * The jsonb columns of a query row as `insertQuery` writes them. `results` and `citations` are shown
 * as stored (their shapes changed over time; redaction rewrites citations), so only their kind is
 * checked; `trace` is a `RetrievalTrace`, possibly of an older query without some of its fields.
 */
const StoredQueryColumns = {
  results: z.array(z.unknown()),
  citations: z.array(z.unknown()),
  timings_ms: z.record(z.string(), z.number()),
  models: z.record(z.string(), z.string().nullable()),
  trace: z
    .object({
      legs: z.record(z.string(), z.array(ScoredChunkSchema)),
      fused: z.array(ScoredChunkSchema),
      reranked: z.array(ScoredChunkSchema).optional(),
      in_context: z.array(z.string()).optional(),
    })
    .partial() satisfies z.ZodType<Partial<RetrievalTrace>>,
} as const;
type StoredQueryColumn<K extends keyof typeof StoredQueryColumns> = z.infer<(typeof StoredQueryColumns)[K]>;

export interface StoredQuery {
  id: string;
  collection_id: string | null;
  kind: 'search' | 'answer';
  query: string;
  mode: string | null;
  status: QueryStatus;
  answer: string | null;
  results: StoredQueryColumn<'results'>;
  citations: StoredQueryColumn<'citations'>;
  timings_ms: StoredQueryColumn<'timings_ms'>;
  models: StoredQueryColumn<'models'>;
  trace: StoredQueryColumn<'trace'>;
  created_at: string;
  collection_ids: string[] | null;
  conversation_id: string | null;
  rewritten_query: string | null;
  prompt_tokens: number | null;
  no_answer: boolean | null;
  latency_ms: number | null;
  /**
   * When a document it drew on was deleted or replaced (or, for a follow-up, one that a query whose
   * turns its rewrite saw drew on): `answer`, `rewritten_query` and the quotes are blank since.
   */
  redacted_at: string | null;
}

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
  if (!isUuid(id)) return null;
  const result = await db.query<StoredQuery & { results: unknown; citations: unknown; timings_ms: unknown; models: unknown; trace: unknown }>(
    `SELECT q.id, q.collection_id, q.kind, q.query, q.mode, q.status, q.answer, q.results, q.citations, q.timings_ms, q.models, q.trace,
  q.collection_ids, q.conversation_id, q.rewritten_query, q.prompt_tokens, q.no_answer, q.latency_ms,
  to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(q.redacted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS redacted_at
FROM queries q WHERE q.id = $1 AND q.team_id = $2
  AND (q.key_id = $3 OR NOT ${drewOnHiddenSql('q', '$4')})`,
    [id, identity.team_id, identity.key_id, identity.groups],
  );
  const row = result.rows[0];
  if (!row) return null;
  // Written by insertQuery from typed values, so a mismatch is a bug: it throws, naming the column.
  const column = (key: keyof typeof StoredQueryColumns) => `queries.${key} (query ${row.id})`;
  return {
    ...row,
    results: readJsonb(StoredQueryColumns.results, row.results, column('results')),
    citations: readJsonb(StoredQueryColumns.citations, row.citations, column('citations')),
    timings_ms: readJsonb(StoredQueryColumns.timings_ms, row.timings_ms, column('timings_ms')),
    models: readJsonb(StoredQueryColumns.models, row.models, column('models')),
    trace: readJsonb(StoredQueryColumns.trace, row.trace, column('trace')),
  };
}

/**
 * SQL: the caller (`$2` team, `$3` key, `$4` role) may delete the row `q` (a query or a conversation,
 * both with `team_id` and `key_id`): the key that made it, a knowledge admin of its team, or an
 * organisation admin (any team, as on the other owner paths: `ownerReach`). Deleting reveals no text,
 * so an admin needs no read access to what the row drew on.
 */
export function deleterSql(q: string): string {
  return `((${q}.team_id = $2 AND (${q}.key_id = $3 OR $4 = 'knowledge-admin')) OR $4 = 'admin')`;
}

/**
 * Deletes a query the caller may delete (see `deleterSql`), its feedback (by cascade) and its
 * conversation turns; false when there is none (also for malformed ids and other callers' queries, so
 * the route answers 404 as for a read). The usage ledger keeps the query's id: it is append-only and
 * holds counts and costs, no text; `benchmark_queries` and eval cases keep theirs too.
 */
export async function deleteQuery(db: Db, identity: Pick<Identity, 'team_id' | 'key_id' | 'role'>, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return db.transaction(async (tx) => {
    // Query row first, then turns: the lock order of @quire/stored-queries.
    const gone = await tx.query(`DELETE FROM queries q WHERE q.id = $1 AND ${deleterSql('q')} RETURNING q.id`, [id, identity.team_id, identity.key_id, identity.role]);
    if (gone.rows.length === 0) return false;
    await deleteTurnsOfQueries(tx, [id]);
    return true;
  });
}
