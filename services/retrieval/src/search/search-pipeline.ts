import type { SearchFilters, SearchMode, SearchResult } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { AppError } from '@quire/server-kit';
import type { CollectionForQuery } from '../collections/collection-repository.js';
import { loadChunks, type ChunkView } from './hydrate.js';
import type { KeywordRetriever } from './keyword-retriever.js';
import { reciprocalRankFusion, type FusedHit, type RankedHit } from './rrf.js';
import { vectorSearch } from './vector-search.js';

export interface SearchDeps {
  db: Db;
  models: GatewayModels;
  keyword: KeywordRetriever;
}

export interface SearchInput {
  collection: CollectionForQuery;
  query: string;
  topK: number;
  mode?: SearchMode;
  filters?: SearchFilters;
  /** Attribution for the query embedding call (purpose is set here). */
  call: Omit<GatewayCallContext, 'purpose'>;
  abortSignal?: AbortSignal;
}

export interface RetrievedChunk extends ChunkView {
  rank: number;
  score: number;
  scores: SearchResult['scores'];
}

export interface SearchOutcome {
  mode: SearchMode;
  results: RetrievedChunk[];
  timings: Record<string, number>;
}

export function resolveMode(collection: CollectionForQuery, requested: SearchMode | undefined): SearchMode {
  if (!collection.embeddingModel) {
    if (requested === 'vector' || requested === 'hybrid') {
      throw new AppError('no_embedding_model', `Collection ${collection.id} has no embedding model, so only keyword search is available.`, { param: 'mode' });
    }
    return 'keyword';
  }
  return requested ?? 'hybrid';
}

/** How many candidates each leg brings to fusion: enough that fusion can reorder beyond top_k. */
export function candidateCount(topK: number): number {
  return Math.max(topK * 4, 40);
}

const since = (start: number) => Math.round((performance.now() - start) * 100) / 100;

async function vectorLeg(deps: SearchDeps, input: SearchInput, limit: number, timings: Record<string, number>): Promise<RankedHit[]> {
  const { collection } = input;
  // No dimension yet means ingestion has written no vectors: nothing to find, so no embed cost.
  if (!collection.embeddingModel || !collection.indexVersionId || !collection.dimensions) return [];
  let start = performance.now();
  const model = deps.models.embeddingModel(collection.embeddingModel, { ...input.call, purpose: 'query-embed' });
  const embedded = await model.doEmbed({ values: [input.query], inputType: 'query', ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}) });
  timings.embed = since(start);
  const embedding = embedded.embeddings[0];
  if (!embedding || embedding.length !== collection.dimensions) {
    throw new AppError('provider_bad_response', `The embedding model returned ${embedding?.length ?? 0} dimensions; the index has ${collection.dimensions}.`);
  }
  start = performance.now();
  const hits = await vectorSearch(deps.db, {
    collectionId: collection.id,
    indexVersionId: collection.indexVersionId,
    dimensions: collection.dimensions,
    embedding,
    limit,
    ...(input.filters ? { filters: input.filters } : {}),
  });
  timings.vector = since(start);
  return hits;
}

async function keywordLeg(deps: SearchDeps, input: SearchInput, limit: number, timings: Record<string, number>): Promise<RankedHit[]> {
  const start = performance.now();
  const hits = await deps.keyword.search(input.collection.id, input.query, limit, input.filters);
  timings.keyword = since(start);
  return hits;
}

/** Runs the legs the mode asks for, fuses them when both run, and loads the top_k chunks. */
export async function runSearch(deps: SearchDeps, input: SearchInput): Promise<SearchOutcome> {
  const total = performance.now();
  const mode = resolveMode(input.collection, input.mode);
  const timings: Record<string, number> = {};
  const limit = mode === 'hybrid' ? candidateCount(input.topK) : input.topK;
  const [vectorHits, keywordHits] = await Promise.all([
    mode === 'keyword' ? Promise.resolve([]) : vectorLeg(deps, input, limit, timings),
    mode === 'vector' ? Promise.resolve([]) : keywordLeg(deps, input, limit, timings),
  ]);

  let ranked: { hit: FusedHit; score: number }[];
  if (mode === 'hybrid') {
    const start = performance.now();
    ranked = reciprocalRankFusion({ vector: vectorHits, keyword: keywordHits }).map((hit) => ({ hit, score: hit.fused }));
    timings.fuse = since(start);
  } else {
    const leg = mode === 'vector' ? vectorHits : keywordHits;
    ranked = leg.map((h) => ({ hit: { chunkId: h.chunkId, fused: h.score, legScores: { [mode]: h.score } }, score: h.score }));
  }
  ranked = ranked.slice(0, input.topK);

  const chunks = await loadChunks(deps.db, input.collection.id, ranked.map((r) => r.hit.chunkId));
  const results: RetrievedChunk[] = [];
  for (const { hit, score } of ranked) {
    const chunk = chunks.get(hit.chunkId);
    // A chunk deleted between the legs and the load is skipped rather than failing the search.
    if (!chunk) continue;
    const scores: SearchResult['scores'] = {};
    if (hit.legScores.vector !== undefined) scores.vector = hit.legScores.vector;
    if (hit.legScores.keyword !== undefined) scores.keyword = hit.legScores.keyword;
    if (mode === 'hybrid') scores.fused = hit.fused;
    results.push({ ...chunk, rank: results.length + 1, score, scores });
  }
  timings.total = since(total);
  return { mode, results, timings };
}

export function toSearchResult(r: RetrievedChunk): SearchResult {
  return {
    rank: r.rank,
    chunk_id: r.chunkId,
    document_id: r.documentId,
    document_title: r.documentTitle,
    text: r.text,
    score: r.score,
    scores: r.scores,
    page_start: r.pageStart,
    page_end: r.pageEnd,
    heading_path: r.headingPath,
    char_start: r.charStart,
    char_end: r.charEnd,
  };
}
