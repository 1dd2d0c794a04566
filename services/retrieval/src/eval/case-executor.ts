import type { AnswerBody, Citation, Identity } from '@quire/contracts';
import { dedupe, hasRelevant, retrievalMetrics } from '@quire/eval';
import type { HnswState } from '@quire/index-versions';
import { AppError } from '@quire/server-kit';
import { answerQuestion } from '../answer/answer-pipeline.js';
import type { CollectionForQuery } from '../collections/collection-repository.js';
import { findQuery, insertQuery } from '../queries/query-repository.js';
import { runSearch, type SearchDeps, type SearchTuning } from '../search/search-pipeline.js';
import type { Configuration, Relevant } from './eval-schemas.js';
import { judgeAnswer, type JudgeVerdict } from './judge.js';

export interface RankedItem {
  chunk_id: string;
  document_id: string;
}

export interface CaseRun {
  queryId: string;
  ranked: RankedItem[];
  timings: Record<string, number>;
  answer: string | null;
  citations: Citation[];
  noAnswer: boolean | null;
}

/**
 * The collection as a configuration sees it: another index version, rerank or generation model.
 * Another index version brings its embedding model, vector size and graph state, and, when it was
 * built with other chunking (it has its own chunk set, migration 0008; a version retired by a
 * re-chunking activation keeps the set it had), that chunk set: every leg then reads its chunks.
 */
export async function applyConfiguration(
  deps: SearchDeps,
  base: CollectionForQuery,
  config: Configuration & { resolved_index_version_id?: string | null; resolved_rerank_model?: string | null; resolved_generation_model?: string | null },
): Promise<CollectionForQuery> {
  const out: CollectionForQuery = { ...base };
  const versionId = config.resolved_index_version_id ?? config.index_version_id;
  if (versionId && versionId !== base.indexVersionId) {
    const r = await deps.db.query<{ id: string; embedding_model: string | null; dimensions: number | null; requested_dimensions: number | null; hnsw_state: HnswState; status: string; own_chunks: boolean }>(
      `SELECT iv.id, iv.embedding_model, iv.dimensions, iv.requested_dimensions, iv.hnsw_state, iv.status,
       EXISTS (SELECT 1 FROM chunks ch WHERE ch.index_version_id = iv.id) AS own_chunks
FROM index_versions iv WHERE iv.id = $1 AND iv.collection_id = $2`,
      [versionId, base.id],
    );
    const v = r.rows[0];
    if (!v) throw new AppError('invalid_request', `Index version ${versionId} is not one of the collection's.`, { param: 'index_version_id' });
    if (v.status !== 'ready' && v.status !== 'retired') throw new AppError('conflict', `Index version ${versionId} is ${v.status}; benchmark it once it is ready.`);
    out.indexVersionId = v.id;
    out.embeddingModel = v.embedding_model;
    out.dimensions = v.dimensions === null ? null : Number(v.dimensions);
    out.requestedDimensions = v.requested_dimensions === null ? null : Number(v.requested_dimensions);
    out.hnswState = v.hnsw_state;
    out.chunkSetVersionId = v.own_chunks ? v.id : null;
  }
  // A benchmark pins the models it resolved when the run was created (resolved_*, see
  // StoredConfigurationSchema), so a collection edited mid-run (or between an interruption and the
  // resume) does not give one configuration two models. A run stored before models were pinned has
  // none: it keeps reading the collection's current models, as it always did (nothing better is
  // known about what its earlier cases used). Replays and new configurations resolve them here.
  if (config.resolved_rerank_model !== undefined) out.rerankModel = config.resolved_rerank_model;
  else if (config.rerank_model) out.rerankModel = config.rerank_model;
  if (config.resolved_generation_model !== undefined) out.generationModel = config.resolved_generation_model;
  else if (config.generation_model) out.generationModel = config.generation_model;
  return out;
}

export function tuningOfConfiguration(config: Configuration): SearchTuning {
  return {
    ...(config.preset ? { preset: config.preset } : {}),
    ...(config.fusion ? { fusion: config.fusion } : {}),
    ...(config.rerank_model === null ? { rerank: false } : config.candidate_pool ? { rerank: { candidates: config.candidate_pool } } : {}),
  };
}

export const generatesAnswers = (config: Configuration) => config.answer || Boolean(config.generation_model);

export interface ExecuteInput {
  deps: SearchDeps;
  collection: CollectionForQuery;
  config: Configuration;
  question: string;
  identity: Identity;
  identityToken: string;
  traceId: string;
  queryId: string;
  abortSignal?: AbortSignal;
}

/**
 * Runs one question under a configuration through the service's own search or answer pipeline,
 * with the given query id, so the query row, its trace and its ledger rows are the real ones.
 */
export async function executeCase(input: ExecuteInput): Promise<CaseRun> {
  const { deps, collection, config, identity, queryId } = input;
  const call = { identityToken: input.identityToken, traceId: input.traceId, collectionId: collection.id, queryId };
  const tuning = tuningOfConfiguration(config);
  if (generatesAnswers(config)) {
    const body: AnswerBody = { question: input.question, top_k: config.top_k, mode: config.mode, stream: false, ...tuning };
    // An empty history: no conversation is read, rewritten or stored for evaluation questions.
    const out = await answerQuestion(deps, { collection, body, identity, queryId, call, abortSignal: input.abortSignal ?? new AbortController().signal, history: [] });
    const row = await findQuery(deps.db, identity, queryId);
    const ranked = ((row?.results ?? []) as RankedItem[]).map((r) => ({ chunk_id: r.chunk_id, document_id: r.document_id }));
    return { queryId, ranked, timings: out.timings_ms, answer: out.answer, citations: out.citations, noAnswer: out.no_answer ?? null };
  }
  const base = { id: queryId, identity, collectionId: collection.id, kind: 'search' as const, query: input.question, mode: config.mode, models: { embedding: collection.embeddingModel } };
  let outcome;
  try {
    outcome = await runSearch(deps, { collection, query: input.question, topK: config.top_k, mode: config.mode, filters: { accessGroups: identity.groups }, ...tuning, call, ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}) });
  } catch (error) {
    await insertQuery(deps.db, { ...base, status: input.abortSignal?.aborted ? 'cancelled' : 'error', results: [], timings: {} }).catch(() => undefined);
    throw error;
  }
  await insertQuery(deps.db, { ...base, models: outcome.models, status: 'ok', results: outcome.results, trace: outcome.trace, timings: outcome.timings });
  return {
    queryId,
    ranked: outcome.results.map((r) => ({ chunk_id: r.chunkId, document_id: r.documentId })),
    timings: outcome.timings,
    answer: null,
    citations: [],
    noAnswer: null,
  };
}

/**
 * A relevance judgment as scored against one chunk set: `chunk_id` names a chunk of that set, and
 * `passage`, when set, the judged chunk it stands for (see relevantInChunkSet). The entries of one
 * passage are the chunks covering it; together they are one relevant item.
 */
export type ScoredRelevant = Relevant & { passage?: string };

/**
 * Retrieval metrics for one case. Relevance is judged per chunk when every relevant entry names a
 * chunk, otherwise per document (chunks collapse to their document, first occurrence counts).
 * Per chunk, each judged passage is one relevant item, however many chunks of the searched set cover
 * it (`passage`, from relevantInChunkSet): ranked chunks collapse to the passage they cover, the first
 * occurrence counts, as chunks collapse to their document. A ranked chunk that covers several judged
 * passages is credited with one of them: the highest graded one not yet credited at a better rank
 * (so a metric never passes 1). Without `passage` every judged chunk is its own passage.
 * Null when nothing is relevant (no judgment, or every grade 0): as in trec_eval, such a question is
 * left out of the retrieval means instead of scoring 0 under every configuration; its answer
 * metrics, if any, still count. Metrics are at the standard cut-offs plus `topK` (see retrievalMetrics).
 */
export function scoreRetrieval(ranked: RankedItem[], relevant: readonly ScoredRelevant[], topK: number): Record<string, number> | null {
  const byChunk = relevant.length > 0 && relevant.every((r) => r.chunk_id);
  const qrels = new Map<string, number>();
  /** Per chunk of the searched set: the judged passages it covers. */
  const covers = new Map<string, string[]>();
  for (const r of relevant) {
    const id = byChunk ? (r.passage ?? r.chunk_id!) : r.document_id;
    if (!id) continue;
    qrels.set(id, Math.max(qrels.get(id) ?? 0, r.grade));
    if (byChunk && !covers.get(r.chunk_id!)?.includes(id)) covers.set(r.chunk_id!, [...(covers.get(r.chunk_id!) ?? []), id]);
  }
  if (!hasRelevant(qrels)) return null;
  if (!byChunk) return retrievalMetrics(dedupe(ranked.map((r) => r.document_id)), qrels, topK);
  const credited = new Set<string>();
  const ids = ranked.map((r) => {
    const passages = covers.get(r.chunk_id);
    if (!passages) return r.chunk_id;
    const open = passages.filter((p) => !credited.has(p));
    // Every passage it covers was credited higher up: it collapses into the first (dedupe drops it).
    if (open.length === 0) return passages[0]!;
    const pick = open.reduce((best, p) => ((qrels.get(p) ?? 0) > (qrels.get(best) ?? 0) ? p : best));
    credited.add(pick);
    return pick;
  });
  return retrievalMetrics(dedupe(ids), qrels, topK);
}

/**
 * A case's relevance as a configuration searching a given chunk set can score it: an index version's
 * own set (`chunkSetVersionId`, a version built with other chunking, or one retired by a re-chunking
 * activation, which keeps the set it had) or, with null, the collection's active set.
 * Judgments by chunk (synthetic sets, hand-picked passages) name chunks of the set that was active
 * when they were made. A configuration on another set never ranks those ids: a re-chunked version,
 * or the active set itself once a re-chunked version was activated (activation relabels the old
 * active chunks to the outgoing version, so the judged ids still exist and the case is not stale).
 * Scored as they are, such a configuration would always score 0. A judged chunk the searched set
 * holds is kept as it is; one it does not hold is mapped to the set's chunks of the same document
 * whose character ranges cover it: overlapping by at least half of the shorter of the two, so a
 * neighbour touching the passage by a few characters (chunk overlap) does not count while the pieces
 * a passage was split into, or the larger chunk holding it, do. Each keeps the judged grade and
 * names the judged chunk as its `passage`, so the passage still counts once (see scoreRetrieval):
 * recall's denominator and the ideal DCG are those of the set the judgment was made on, whatever the
 * chunking. A judged chunk that maps to none (its row gone, or no chunk of the set covers it) leaves
 * the case unjudged under this configuration (no entries: `scoreRetrieval` answers null and the
 * report counts it in `unjudged_cases`; a paired comparison leaves it out) rather than scoring a
 * certain miss or switching it to per-document relevance that other configurations do not use.
 * Judgments by document, and judgments whose chunks are all in the searched set, are returned unchanged.
 */
export async function relevantInChunkSet(db: SearchDeps['db'], relevant: Relevant[], chunkSetVersionId: string | null | undefined): Promise<ScoredRelevant[]> {
  if (relevant.length === 0 || !relevant.every((r) => r.chunk_id)) return relevant;
  const r = await db.query<{ source: string; in_set: boolean; id: string | null; document_id: string | null }>(
    `SELECT j.id AS source, j.index_version_id IS NOT DISTINCT FROM $2::uuid AS in_set, v.id, v.document_id
FROM chunks j
LEFT JOIN LATERAL (
  SELECT v.id, v.document_id, LEAST(v.char_end, j.char_end) - GREATEST(v.char_start, j.char_start) AS overlap, v.char_start
  FROM chunks v
  WHERE j.index_version_id IS DISTINCT FROM $2::uuid
    AND v.document_id = j.document_id AND v.index_version_id IS NOT DISTINCT FROM $2::uuid
    AND LEAST(v.char_end, j.char_end) - GREATEST(v.char_start, j.char_start) > 0
    AND 2 * (LEAST(v.char_end, j.char_end) - GREATEST(v.char_start, j.char_start)) >= LEAST(v.char_end - v.char_start, j.char_end - j.char_start)
) v ON true
WHERE j.id = ANY($1::uuid[])
ORDER BY j.id, v.overlap DESC, v.char_start`,
    [relevant.map((x) => x.chunk_id!), chunkSetVersionId ?? null],
  );
  const inSet = new Set(r.rows.filter((row) => row.in_set).map((row) => row.source));
  if (relevant.every((x) => inSet.has(x.chunk_id!))) return relevant;
  const covering = new Map<string, { id: string; document_id: string }[]>();
  for (const row of r.rows) if (row.id && row.document_id) covering.set(row.source, [...(covering.get(row.source) ?? []), { id: row.id, document_id: row.document_id }]);
  if (!relevant.every((x) => inSet.has(x.chunk_id!) || covering.has(x.chunk_id!))) return [];
  return relevant.flatMap((x): ScoredRelevant[] =>
    inSet.has(x.chunk_id!) ? [x] : covering.get(x.chunk_id!)!.map((t) => ({ chunk_id: t.id, document_id: t.document_id, grade: x.grade, passage: x.chunk_id! })),
  );
}

/** Answer metrics: citation precision (lexical support, as the answer pipeline checks it), no-answer, and the judge's scores. */
export async function scoreAnswer(
  deps: SearchDeps,
  run: CaseRun,
  input: { question: string; reference: string | null; judgeModel: string | null; call: { identityToken: string; traceId: string; collectionId: string; queryId: string }; abortSignal?: AbortSignal },
): Promise<{ metrics: Record<string, number | null>; verdict: JudgeVerdict | null }> {
  const cited = run.citations;
  const metrics: Record<string, number | null> = {
    citation_precision: cited.length ? cited.filter((c) => c.supported !== false).length / cited.length : null,
    no_answer: run.noAnswer ? 1 : 0,
  };
  if (!input.judgeModel || run.answer === null) return { metrics, verdict: null };
  const ids = [...new Set(cited.map((c) => c.chunk_id))];
  const texts = ids.length ? (await deps.db.query<{ id: string; text: string }>(`SELECT id, text FROM chunks WHERE id = ANY($1::uuid[])`, [ids])).rows : [];
  const byId = new Map(texts.map((t) => [t.id, t.text]));
  const verdict = await judgeAnswer(deps.models, input.judgeModel, input.call, { question: input.question, reference: input.reference, answer: run.answer, sources: ids.map((id) => byId.get(id) ?? '') }, input.abortSignal);
  metrics.correctness = verdict.correctness;
  metrics.faithfulness = verdict.faithfulness;
  return { metrics, verdict };
}
