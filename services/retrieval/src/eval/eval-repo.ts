import { isUuid } from '@quire/contracts';
import { readJsonb, type Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { z } from 'zod';
import type { Reach } from '../collections/collection-repository.js';
import { RelevantSchema, type EvalCaseBody, type Relevant } from './eval-schemas.js';
import { createdBefore, createdMicros, pageOf } from './page.js';


const StoredRelevantSchema = z.array(RelevantSchema);
/** `eval_cases.relevant` of case `caseId`, as the case's body schema wrote it. @throws JsonbColumnError */
export const readRelevant = (value: unknown, caseId: string): Relevant[] => readJsonb(StoredRelevantSchema, value, `eval_cases.relevant (case ${caseId})`);
const ts = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export interface EvalSetRow {
  id: string;
  collection_id: string;
  name: string;
  description: string | null;
  synthetic: boolean;
  cases: number;
  created_at: string;
}

export interface EvalCase {
  id: string;
  ordinal: number;
  external_id: string | null;
  question: string;
  relevant: Relevant[];
  reference_answer: string | null;
  synthetic: boolean;
  source_query_id: string | null;
}

export async function createEvalSet(db: Queryable, input: { teamId: string; collectionId: string; name: string; description?: string | null; synthetic?: boolean }): Promise<string> {
  const r = await db.query<{ id: string }>(`INSERT INTO eval_sets (team_id, collection_id, name, description, synthetic) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
    input.teamId,
    input.collectionId,
    input.name,
    input.description ?? null,
    input.synthetic ?? false,
  ]);
  return r.rows[0]!.id;
}

/** The 404 of an eval set the caller may not reach (missing, another team's, or a malformed id). */
export const evalSetNotFound = (id: string) => new AppError('not_found', `No eval set ${id}.`, { param: 'eval_set_id' });

/**
 * An eval set of the caller's team (or of any team with `anyTeam`: an organisation admin, see
 * `ownerReach`); another team's answers the same 404 as a missing one.
 */
export async function getEvalSet(db: Queryable, teamId: string, id: string, reach: Reach = {}): Promise<EvalSetRow> {
  const notFound = evalSetNotFound(id);
  if (!isUuid(id)) throw notFound;
  const r = await db.query<EvalSetRow>(
    `SELECT s.id, s.collection_id, s.name, s.description, s.synthetic, (SELECT count(*) FROM eval_cases c WHERE c.eval_set_id = s.id)::int AS cases, ${ts('s.created_at')} AS created_at
FROM eval_sets s WHERE s.id = $1 AND (s.team_id = $2 OR $3::boolean)`,
    [id, teamId, reach.anyTeam === true],
  );
  if (!r.rows[0]) throw notFound;
  return r.rows[0];
}

/** One page of eval sets, newest first; `after` is the previous page's last (created micros, id). */
export async function pageEvalSets(db: Queryable, input: { teamId: string; collectionId: string | null; reach: Reach; after: readonly [string, string] | null; limit: number }): Promise<{ data: EvalSetRow[]; next_cursor: string | null }> {
  const r = await db.query<EvalSetRow & { created_us?: string }>(
    `SELECT s.id, s.collection_id, s.name, s.description, s.synthetic, (SELECT count(*) FROM eval_cases c WHERE c.eval_set_id = s.id)::int AS cases, ${ts('s.created_at')} AS created_at, ${createdMicros('s')}
FROM eval_sets s WHERE (s.team_id = $1 OR $3::boolean) AND ($2::uuid IS NULL OR s.collection_id = $2::uuid) AND ${createdBefore('s', 4)}
ORDER BY s.created_at DESC, s.id DESC LIMIT $6`,
    [input.teamId, input.collectionId, input.reach.anyTeam === true, input.after?.[0] ?? null, input.after?.[1] ?? null, input.limit + 1],
  );
  const page = pageOf(r.rows, input.limit, (row) => [row.created_us!, row.id]);
  return { data: page.data.map(({ created_us: _, ...row }) => row), next_cursor: page.next_cursor };
}

/** Normalises a case body: `relevant_document_ids` become grade-1 entries. */
export function relevantOf(body: EvalCaseBody): Relevant[] {
  return [...body.relevant, ...(body.relevant_document_ids ?? []).map((id) => ({ document_id: id, grade: 1 }))];
}

/** Checks that every referenced document and chunk belongs to the collection (400 naming the first stranger). */
export async function checkRelevantIds(db: Queryable, collectionId: string, relevant: Relevant[]): Promise<void> {
  const docs = [...new Set(relevant.flatMap((r) => (r.document_id ? [r.document_id] : [])))];
  const chunks = [...new Set(relevant.flatMap((r) => (r.chunk_id ? [r.chunk_id] : [])))];
  if (docs.length) {
    const r = await db.query<{ id: string }>(`SELECT id FROM documents WHERE collection_id = $1 AND id = ANY($2::uuid[])`, [collectionId, docs]);
    const found = new Set(r.rows.map((x) => x.id));
    const missing = docs.find((d) => !found.has(d));
    if (missing) throw new AppError('invalid_request', `Document ${missing} is not in the eval set's collection.`, { param: 'relevant' });
  }
  if (chunks.length) {
    const r = await db.query<{ id: string }>(`SELECT id FROM chunks WHERE collection_id = $1 AND id = ANY($2::uuid[])`, [collectionId, chunks]);
    const found = new Set(r.rows.map((x) => x.id));
    const missing = chunks.find((d) => !found.has(d));
    if (missing) throw new AppError('invalid_request', `Chunk ${missing} is not in the eval set's collection.`, { param: 'relevant' });
  }
}

export interface NewCase {
  question: string;
  relevant: Relevant[];
  referenceAnswer?: string | null;
  externalId?: string | null;
  synthetic?: boolean;
  sourceQueryId?: string | null;
}

/**
 * Appends cases after the set's last ordinal. Call it in a transaction: the set's row lock taken first
 * makes concurrent appends to one set take turns, so no two cases share an ordinal.
 */
export async function addCases(db: Queryable, evalSetId: string, cases: NewCase[]): Promise<string[]> {
  await db.query(`SELECT 1 FROM eval_sets WHERE id = $1 FOR UPDATE`, [evalSetId]);
  const start = await db.query<{ n: number }>(`SELECT COALESCE(max(ordinal), 0)::int AS n FROM eval_cases WHERE eval_set_id = $1`, [evalSetId]);
  let ordinal = Number(start.rows[0]!.n);
  const ids: string[] = [];
  // Batches of 500 rows keep each statement's parameter count small.
  for (let i = 0; i < cases.length; i += 500) {
    const batch = cases.slice(i, i + 500);
    const params: unknown[] = [];
    const values = batch.map((c) => {
      params.push(evalSetId, ++ordinal, c.externalId ?? null, c.question, JSON.stringify(c.relevant), c.referenceAnswer ?? null, c.synthetic ?? false, c.sourceQueryId ?? null);
      const b = params.length - 8;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::jsonb, $${b + 6}, $${b + 7}, $${b + 8})`;
    });
    const r = await db.query<{ id: string }>(
      `INSERT INTO eval_cases (eval_set_id, ordinal, external_id, question, relevant, reference_answer, synthetic, source_query_id) VALUES ${values.join(', ')} RETURNING id`,
      params,
    );
    ids.push(...r.rows.map((x) => x.id));
  }
  return ids;
}

const CASE_COLUMNS = 'id, ordinal, external_id, question, relevant, reference_answer, synthetic, source_query_id';

export async function listCases(db: Queryable, evalSetId: string): Promise<EvalCase[]> {
  const r = await db.query<EvalCase & { relevant: unknown }>(`SELECT ${CASE_COLUMNS} FROM eval_cases WHERE eval_set_id = $1 ORDER BY ordinal`, [evalSetId]);
  return r.rows.map((row) => ({ ...row, relevant: readRelevant(row.relevant, row.id) }));
}

/** One page of a set's cases in ordinal order; `after` is the previous page's last (ordinal, id). */
export async function pageCases(db: Queryable, evalSetId: string, after: readonly [number, string] | null, limit: number): Promise<{ data: EvalCase[]; next_cursor: string | null }> {
  const r = await db.query<EvalCase & { relevant: unknown }>(
    `SELECT ${CASE_COLUMNS} FROM eval_cases WHERE eval_set_id = $1 AND ($2::int IS NULL OR (ordinal, id) > ($2::int, $3::uuid)) ORDER BY ordinal, id LIMIT $4`,
    [evalSetId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = pageOf(r.rows, limit, (row) => [Number(row.ordinal), row.id]);
  return { data: page.data.map((row) => ({ ...row, relevant: readRelevant(row.relevant, row.id) })), next_cursor: page.next_cursor };
}

/** BEIR corpus ids → document ids, through the `beir_id` metadata the importer set on upload. */
export async function documentsByBeirId(db: Queryable, collectionId: string, beirIds: string[]): Promise<Map<string, string>> {
  const r = await db.query<{ id: string; beir_id: string }>(
    `SELECT id, metadata->>'beir_id' AS beir_id FROM documents WHERE collection_id = $1 AND metadata->>'beir_id' = ANY($2::text[]) AND replaces_document_id IS NULL`,
    [collectionId, beirIds],
  );
  return new Map(r.rows.map((x) => [x.beir_id, x.id]));
}

export interface StaleCase {
  case_id: string;
  /** The relevant document or chunk ids that no longer exist in the collection. */
  missing: string[];
}

/**
 * Cases naming a relevant document or chunk that is gone (deleted, or re-ingested into new chunk ids).
 * Scored as they are, they would count as misses of every configuration and drag every mean towards 0,
 * so the run leaves them out and reports them instead.
 */
export async function staleCases(db: Queryable, collectionId: string, cases: readonly { id: string; relevant: Relevant[] }[]): Promise<StaleCase[]> {
  const docs = [...new Set(cases.flatMap((c) => c.relevant.flatMap((r) => (r.document_id ? [r.document_id] : []))))];
  const chunks = [...new Set(cases.flatMap((c) => c.relevant.flatMap((r) => (r.chunk_id ? [r.chunk_id] : []))))];
  const found = new Set<string>();
  if (docs.length) for (const x of (await db.query<{ id: string }>(`SELECT id FROM documents WHERE collection_id = $1 AND id = ANY($2::uuid[])`, [collectionId, docs])).rows) found.add(x.id);
  if (chunks.length) for (const x of (await db.query<{ id: string }>(`SELECT id FROM chunks WHERE collection_id = $1 AND id = ANY($2::uuid[])`, [collectionId, chunks])).rows) found.add(x.id);
  const out: StaleCase[] = [];
  for (const c of cases) {
    const missing = [...new Set(c.relevant.flatMap((r) => [r.document_id, r.chunk_id].filter((id): id is string => Boolean(id) && !found.has(id!))))];
    if (missing.length) out.push({ case_id: c.id, missing });
  }
  return out;
}

/**
 * Gives chunk-only entries their document. A case mixing chunk and document entries is scored per
 * document, where an entry without a document id would be dropped, shrinking recall's denominator
 * and the ideal DCG.
 */
export async function withChunkDocuments(db: Queryable, relevant: Relevant[]): Promise<Relevant[]> {
  const need = [...new Set(relevant.flatMap((r) => (r.chunk_id && !r.document_id ? [r.chunk_id] : [])))];
  if (need.length === 0) return relevant;
  const r = await db.query<{ id: string; document_id: string }>(`SELECT id, document_id FROM chunks WHERE id = ANY($1::uuid[])`, [need]);
  const doc = new Map(r.rows.map((x) => [x.id, x.document_id]));
  return relevant.map((x) => (x.chunk_id && !x.document_id && doc.has(x.chunk_id) ? { ...x, document_id: doc.get(x.chunk_id)! } : x));
}
