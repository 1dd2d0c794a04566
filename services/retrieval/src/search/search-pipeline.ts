import type { FusionPreset, FusionSettings, SearchMode, SearchResult } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { AppError } from '@quire/server-kit';
import type { CollectionForQuery } from '../collections/collection-repository.js';
import { resolveBm25, resolveFusion } from './fusion-settings.js';
import { loadChunks, type ChunkView } from './hydrate.js';
import type { KeywordRetriever } from './keyword-retriever.js';
import { DEFAULT_RERANK_CANDIDATES, rerankChunks } from './rerank.js';
import { reciprocalRankFusion, type FusedHit, type RankedHit } from './rrf.js';
import type { AccessFilters } from './scope-sql.js';
import { vectorSearch } from './vector-search.js';

export interface SearchDeps {
  db: Db;
  models: GatewayModels;
  keyword: KeywordRetriever;
  /** Hosts answers may link to besides URLs in their sources (`QUIRE_ANSWER_LINK_HOSTS`). */
  answerLinkHosts?: string[];
}

export interface SearchTuning {
  preset?: FusionPreset;
  fusion?: FusionSettings;
  /** false: never; true or absent: when the collection has a rerank model; an object sets the pool. */
  rerank?: boolean | { candidates?: number };
}

export interface SearchInput extends SearchTuning {
  collection: CollectionForQuery;
  query: string;
  topK: number;
  mode?: SearchMode;
  /** The caller's filters plus its access groups (set by the routes from the signed identity). */
  filters?: AccessFilters;
  /** Attribution for the query embedding call (purpose is set here). */
  call: Omit<GatewayCallContext, 'purpose'>;
  abortSignal?: AbortSignal;
}

export interface MultiSearchInput extends Omit<SearchInput, 'collection'> {
  collections: CollectionForQuery[];
}

export interface RetrievedChunk extends ChunkView {
  rank: number;
  score: number;
  scores: SearchResult['scores'];
  collectionId?: string;
}

/** Candidates and scores at each stage, best first, as ids (the chunks hold the text). */
export interface RetrievalTrace {
  legs: Record<string, { chunk_id: string; score: number }[]>;
  fused: { chunk_id: string; score: number }[];
  reranked?: { chunk_id: string; score: number }[];
  /** Answers only: the chunks that fit the context budget and went into the prompt. */
  in_context?: string[];
}

export interface SearchOutcome {
  mode: SearchMode;
  results: RetrievedChunk[];
  trace: RetrievalTrace;
  timings: Record<string, number>;
  /** The models each stage used (embedding per collection, rerank). */
  models: Record<string, string | null>;
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
const add = (timings: Record<string, number>, key: string, start: number) => {
  timings[key] = Math.round(((timings[key] ?? 0) + since(start)) * 100) / 100;
};

/**
 * One embedding per distinct (model, requested size), shared by the collections that use it. The
 * query must be embedded at the size the index version asked for, or it cannot be compared.
 */
function embedder(deps: SearchDeps, input: MultiSearchInput, timings: Record<string, number>) {
  const cache = new Map<string, Promise<number[]>>();
  return (model: string, dimensions?: number | null) => {
    const key = `${model}#${dimensions ?? ''}`;
    let pending = cache.get(key);
    if (!pending) {
      pending = (async () => {
        const start = performance.now();
        const m = deps.models.embeddingModel(model, { ...input.call, purpose: 'query-embed' });
        const out = await m.doEmbed({
          values: [input.query],
          inputType: 'query',
          ...(dimensions ? { dimensions } : {}),
          ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}),
        });
        add(timings, 'embed', start);
        return out.embeddings[0] ?? [];
      })();
      cache.set(key, pending);
    }
    return pending;
  };
}

async function vectorLeg(deps: SearchDeps, input: MultiSearchInput, collection: CollectionForQuery, embed: (model: string, dimensions?: number | null) => Promise<number[]>, limit: number, timings: Record<string, number>): Promise<RankedHit[]> {
  // No dimension yet means ingestion has written no vectors: nothing to find, so no embed cost.
  if (!collection.embeddingModel || !collection.indexVersionId || !collection.dimensions) return [];
  const embedding = await embed(collection.embeddingModel, collection.requestedDimensions);
  if (embedding.length !== collection.dimensions) {
    throw new AppError('provider_bad_response', `The embedding model returned ${embedding.length} dimensions; the index has ${collection.dimensions}.`);
  }
  const start = performance.now();
  const hits = await vectorSearch(deps.db, {
    collectionId: collection.id,
    indexVersionId: collection.indexVersionId,
    dimensions: collection.dimensions,
    embedding,
    limit,
    pendingTail: collection.hnswState === 'graph',
    ...(collection.chunkSetVersionId ? { chunkSetVersionId: collection.chunkSetVersionId } : {}),
    ...(input.filters ? { filters: input.filters } : {}),
  });
  add(timings, 'vector', start);
  return hits;
}

/**
 * The version a hybrid search's keyword leg is pinned to: the one its vector leg reads. The two legs
 * are separate statements and the collection was loaded before either, so an activation of a
 * re-chunked version in between would otherwise fuse the old version's vector hits with the new
 * chunks' keyword hits. Pinned, the keyword leg finds nothing once the version is no longer the
 * active set's, and the search answers from the old version alone.
 */
function keywordPin(collection: CollectionForQuery, mode: SearchMode): string | null {
  if (mode !== 'hybrid' || collection.chunkSetVersionId) return null;
  return collection.embeddingModel && collection.dimensions && collection.indexVersionId ? collection.indexVersionId : null;
}

async function keywordLeg(deps: SearchDeps, input: MultiSearchInput, collection: CollectionForQuery, mode: SearchMode, limit: number, timings: Record<string, number>): Promise<RankedHit[]> {
  const start = performance.now();
  const settings = collection.settings ?? {};
  const pinned = keywordPin(collection, mode);
  const hits = await deps.keyword.search(collection.id, input.query, limit, input.filters, {
    bm25: resolveBm25(settings),
    analyzer: settings.language ?? 'english',
    ...(collection.chunkSetVersionId ? { chunkSetVersionId: collection.chunkSetVersionId } : {}),
    ...(pinned ? { pinnedVersionId: pinned } : {}),
  });
  add(timings, 'keyword', start);
  return hits;
}

/**
 * Runs the legs each collection's mode asks for and fuses every list by weighted RRF (ranks, never
 * raw scores, so collections with different embedding models mix fairly), optionally reranks a
 * candidate pool, and loads the top_k chunks. One collection is the ordinary search.
 */
export async function runMultiSearch(deps: SearchDeps, input: MultiSearchInput): Promise<SearchOutcome> {
  const total = performance.now();
  const timings: Record<string, number> = {};
  const models: Record<string, string | null> = {};
  const modes = input.collections.map((c) => (input.collections.length === 1 ? resolveMode(c, input.mode) : c.embeddingModel ? (input.mode ?? 'hybrid') : 'keyword'));
  const mode: SearchMode = modes.every((m) => m === modes[0]) ? modes[0]! : 'hybrid';
  const fuse = mode === 'hybrid' || input.collections.length > 1;
  const rerankModel = input.rerank === false ? null : commonRerankModel(input.collections);
  const pool = rerankModel ? Math.max(input.topK, typeof input.rerank === 'object' && input.rerank.candidates ? input.rerank.candidates : (input.collections[0]!.settings?.rerank_candidates ?? DEFAULT_RERANK_CANDIDATES)) : input.topK;
  const limit = fuse ? Math.max(candidateCount(input.topK), pool) : pool;
  const embed = embedder(deps, input, timings);

  const legs: Record<string, RankedHit[]> = {};
  const weights: Record<string, number> = {};
  const owner = new Map<string, string>();
  let k = 60;
  await Promise.all(
    input.collections.map(async (collection, i) => {
      const m = modes[i]!;
      const fusion = resolveFusion(collection.settings ?? {}, input);
      if (i === 0) k = fusion.k;
      models[input.collections.length === 1 ? 'embedding' : `embedding:${collection.id}`] = m === 'keyword' ? null : collection.embeddingModel;
      const [v, kw] = await Promise.all([
        m === 'keyword' ? [] : vectorLeg(deps, input, collection, embed, limit, timings),
        m === 'vector' ? [] : keywordLeg(deps, input, collection, m, limit, timings),
      ]);
      const suffix = input.collections.length === 1 ? '' : `:${collection.id}`;
      legs[`vector${suffix}`] = v;
      legs[`keyword${suffix}`] = kw;
      weights[`vector${suffix}`] = fusion.weights.vector;
      weights[`keyword${suffix}`] = fusion.weights.keyword;
      for (const h of [...v, ...kw]) owner.set(h.chunkId, collection.id);
    }),
  );

  let ranked: FusedHit[];
  if (fuse) {
    const start = performance.now();
    ranked = reciprocalRankFusion(legs, { k, weights });
    timings.fuse = since(start);
  } else {
    const leg = legs[mode] ?? [];
    ranked = leg.map((h) => ({ chunkId: h.chunkId, fused: h.score, legScores: { [mode]: h.score } }));
  }
  ranked = ranked.slice(0, pool);
  const trace: RetrievalTrace = {
    legs: Object.fromEntries(Object.entries(legs).filter(([, hits]) => hits.length > 0).map(([leg, hits]) => [leg, hits.map((h) => ({ chunk_id: h.chunkId, score: h.score }))])),
    fused: ranked.map((r) => ({ chunk_id: r.chunkId, score: r.fused })),
  };

  const chunks = new Map<string, ChunkView>();
  await Promise.all(
    input.collections.map(async (c) => {
      const ids = ranked.filter((r) => owner.get(r.chunkId) === c.id).map((r) => r.chunkId);
      for (const [id, view] of await loadChunks(deps.db, c.id, ids)) chunks.set(id, view);
    }),
  );
  // A chunk deleted between the legs and the load is skipped rather than failing the search.
  let ordered = ranked.filter((r) => chunks.has(r.chunkId)).map((hit) => ({ hit, chunk: chunks.get(hit.chunkId)!, rerank: undefined as number | undefined }));
  if (rerankModel && ordered.length > 0) {
    const start = performance.now();
    const reranked = await rerankChunks(deps.models, { model: rerankModel, query: input.query, candidates: ordered.map((o) => o.chunk), call: input.call, ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}) });
    const byId = new Map(ordered.map((o) => [o.chunk.chunkId, o]));
    ordered = reranked.map((r) => ({ ...byId.get(r.chunk.chunkId)!, rerank: r.score }));
    timings.rerank = since(start);
    models.rerank = rerankModel;
    trace.reranked = ordered.map((o) => ({ chunk_id: o.chunk.chunkId, score: o.rerank ?? 0 }));
  }

  const results: RetrievedChunk[] = ordered.slice(0, input.topK).map(({ hit, chunk, rerank }, i) => {
    const scores: SearchResult['scores'] = {};
    for (const [leg, score] of Object.entries(hit.legScores)) {
      if (leg.startsWith('vector')) scores.vector = score;
      else if (leg.startsWith('keyword')) scores.keyword = score;
    }
    if (fuse) scores.fused = hit.fused;
    if (rerank !== undefined) scores.rerank = rerank;
    const score = rerank ?? hit.fused;
    return { ...chunk, rank: i + 1, score, scores, ...(input.collections.length > 1 ? { collectionId: owner.get(hit.chunkId)! } : {}) };
  });
  // The legs run at the same time, so the stage takes as long as the longer of them, not their sum.
  timings.search = Math.max(timings.vector ?? 0, timings.keyword ?? 0);
  timings.total = since(total);
  return { mode, results, trace, timings, models };
}

function commonRerankModel(collections: CollectionForQuery[]): string | null {
  const names = new Set(collections.map((c) => c.rerankModel ?? null));
  return names.size === 1 ? ([...names][0] ?? null) : null;
}

/** Search over one collection. */
export async function runSearch(deps: SearchDeps, input: SearchInput): Promise<SearchOutcome> {
  const { collection, ...rest } = input;
  return runMultiSearch(deps, { ...rest, collections: [collection] });
}

export function toSearchResult(r: RetrievedChunk): SearchResult {
  return {
    rank: r.rank,
    chunk_id: r.chunkId,
    document_id: r.documentId,
    document_title: r.documentTitle,
    text: r.text,
    ...(r.context ? { context: r.context } : {}),
    score: r.score,
    scores: r.scores,
    page_start: r.pageStart,
    page_end: r.pageEnd,
    heading_path: r.headingPath,
    char_start: r.charStart,
    char_end: r.charEnd,
    ...(r.collectionId ? { collection_id: r.collectionId } : {}),
  };
}
