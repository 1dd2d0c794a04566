import type { SearchFilters } from '@quire/contracts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { analyze, bm25TermScore, primaryTokens, bm25TermWeight, collectionAnalyzer, DEFAULT_BM25, isEmptyQuery, numberArithmetic, parseQuery, type AnalyzerName, type Bm25Params, type ParsedQuery } from '@quire/keyword-index';
import type { RankedHit } from './rrf.js';
import { scopeConditions, type SqlFragment } from './scope-sql.js';

interface Posting {
  /** Place of the chunk in `ChunkSetIndex.ids`. */
  chunk: number;
  tf: number;
  positions: number[];
}

/** One index version's own chunk set, indexed in memory the way `writePostings` indexes the active set. */
export interface ChunkSetIndex {
  ids: string[];
  /** Tokens per chunk, in `ids` order (BM25's |d|). */
  lengths: number[];
  avgdl: number;
  /** Per term, best impact first (tf high, chunk short first), as `bm25_postings_term_idx` orders them. */
  postings: Map<string, Posting[]>;
}

export interface ChunkSetSearchOptions {
  limit: number;
  params?: Bm25Params;
  analyzer?: AnalyzerName;
  /** See `Bm25QueryInput.maxPostingsPerTerm`; ignored for phrase queries, as there. */
  maxPostingsPerTerm?: number;
  maxPrefixExpansions?: number;
  filters?: SearchFilters;
}

/**
 * The most chunks a version's own set may have for keyword search over it in memory. Each search
 * process holds the index (measured: 20,000 chunks of 150 words take about 340 MB and 5 s of CPU to
 * index), so a larger set is refused rather than risking the service's memory; such a version is
 * measured in vector mode, or activated (ingestion then writes its BM25 postings).
 */
export const MAX_CHUNK_SET_CHUNKS = 20_000;

/** Chunks indexed between yields to the event loop, so searches keep being answered while a set is indexed (a few ms each). */
const CHUNKS_PER_SLICE = 250;

/** The refusal for a chunk set over the cap: a 400 naming what to do instead. */
export function chunkSetTooLarge(versionId: string, chunks: number, max: number): AppError {
  return new AppError(
    'invalid_request',
    `Index version ${versionId} has its own chunk set of ${chunks} chunks, more than the ${max} keyword search can index in memory before the version is active; activate the version (its BM25 postings are then written) or benchmark it in vector mode.`,
    { param: 'configurations', details: { reason: 'chunk_set_too_large', index_version_id: versionId, chunks, max_chunks: max } },
  );
}

/** Throws `chunkSetTooLarge` when the version's own set has more than `max` chunks; returns its size otherwise. */
export async function assertChunkSetIndexable(db: Queryable, collectionId: string, versionId: string, max: number = MAX_CHUNK_SET_CHUNKS): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE collection_id = $1 AND index_version_id = $2`, [collectionId, versionId]);
  const n = Number(r.rows[0]?.n ?? 0);
  if (n > max) throw chunkSetTooLarge(versionId, n, max);
  return n;
}

/**
 * Indexes chunk texts: per-chunk lengths and one posting per (term, chunk) with its positions.
 * Works in slices of `CHUNKS_PER_SLICE` chunks (and of posting lists when sorting), yielding to the
 * event loop between them: a set of thousands of chunks takes seconds of CPU.
 */
export async function indexChunkSet(chunks: { id: string; text: string }[], analyzer: AnalyzerName): Promise<ChunkSetIndex> {
  const postings = new Map<string, Posting[]>();
  const lengths: number[] = [];
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0 && i % CHUNKS_PER_SLICE === 0) await nextTurn();
    const tokens = analyze(chunks[i]!.text, analyzer);
    // As `buildPostings`: a token's other forms share its position and do not lengthen the chunk.
    const length = primaryTokens(tokens).length;
    lengths.push(length);
    total += length;
    const byTerm = new Map<string, number[]>();
    for (const t of tokens) {
      const list = byTerm.get(t.term);
      if (list) list.push(t.position);
      else byTerm.set(t.term, [t.position]);
    }
    for (const [term, positions] of byTerm) {
      const list = postings.get(term);
      const p = { chunk: i, tf: positions.length, positions };
      if (list) list.push(p);
      else postings.set(term, [p]);
    }
  }
  const ids = chunks.map((c) => c.id);
  let sorted = 0;
  for (const list of postings.values()) {
    list.sort((a, b) => b.tf - a.tf || lengths[a.chunk]! - lengths[b.chunk]! || (ids[a.chunk]! < ids[b.chunk]! ? -1 : 1));
    sorted += list.length;
    if (sorted >= CHUNKS_PER_SLICE * 50) {
      sorted = 0;
      await nextTurn();
    }
  }
  return { ids, lengths, avgdl: total / Math.max(chunks.length, 1), postings };
}

/** The query's terms with their weight factor qtf: its own terms plus each prefix's most frequent expansions. */
function queryTerms(index: ChunkSetIndex, q: ParsedQuery, maxExpansions: number): Map<string, number> {
  const qtf = new Map<string, number>();
  for (const [term, n] of q.terms) qtf.set(term, (qtf.get(term) ?? 0) + n);
  for (const prefix of q.prefixes) {
    const expansions = [...index.postings.entries()]
      .filter(([term]) => term.startsWith(prefix))
      .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxExpansions);
    for (const [term] of expansions) qtf.set(term, (qtf.get(term) ?? 0) + 1);
  }
  return qtf;
}

/** Chunks that hold the phrase: its terms at their offsets from the first. */
function phraseChunks(index: ChunkSetIndex, phrase: ParsedQuery['phrases'][number]): Set<number> {
  const out = new Set<number>();
  const lists = phrase.terms.map((t) => new Map((index.postings.get(t) ?? []).map((p) => [p.chunk, new Set(p.positions)])));
  for (const [chunk, firsts] of lists[0]!) {
    for (const pos of firsts) {
      if (phrase.terms.every((_, i) => i === 0 || lists[i]!.get(chunk)?.has(pos + phrase.offsets[i]!))) {
        out.add(chunk);
        break;
      }
    }
  }
  return out;
}

/**
 * Okapi BM25 over the index, as `bm25Query` computes it over the postings tables: the same
 * formula (the package's, evaluated over numbers), query frequencies, prefix expansion, phrase
 * filter and per-term cap. Best first.
 */
function scoreChunkSet(index: ChunkSetIndex, q: ParsedQuery, options: Omit<ChunkSetSearchOptions, 'limit' | 'analyzer' | 'filters'> = {}): { chunkId: string; score: number }[] {
  const { k1, b } = options.params ?? DEFAULT_BM25;
  const n = index.ids.length;
  const cap = options.maxPostingsPerTerm && q.phrases.length === 0 ? Math.trunc(options.maxPostingsPerTerm) : Infinity;
  const phrases = q.phrases.map((p) => phraseChunks(index, p));
  const scores = new Map<number, number>();
  for (const [term, qtf] of queryTerms(index, q, options.maxPrefixExpansions ?? 32)) {
    const list = index.postings.get(term);
    if (!list) continue;
    const weight = bm25TermWeight(numberArithmetic, { qtf, n, df: list.length });
    for (const p of list.slice(0, cap)) {
      if (!phrases.every((set) => set.has(p.chunk))) continue;
      const s = bm25TermScore(numberArithmetic, { weight, tf: p.tf, dl: index.lengths[p.chunk]!, avgdl: index.avgdl, k1, b });
      scores.set(p.chunk, (scores.get(p.chunk) ?? 0) + s);
    }
  }
  return [...scores.entries()]
    .map(([chunk, score]) => ({ chunkId: index.ids[chunk]!, score }))
    .sort((x, y) => y.score - x.score || (x.chunkId < y.chunkId ? -1 : 1));
}

/** Which of the scored chunks the search may return: the version's, of ready documents, within the caller's filters. */
export function chunkSetScopeQuery(collectionId: string, versionId: string, chunkIds: string[], filters?: SearchFilters): SqlFragment {
  const scope = scopeConditions(collectionId, filters, 2, { own: versionId });
  return {
    sql: `SELECT c.id
FROM chunks c
JOIN documents d ON d.id = c.document_id
WHERE c.id = ANY($1::uuid[])
  AND ${scope.sql}`,
    params: [chunkIds, ...scope.params],
  };
}

export interface ChunkSetBm25 {
  search(collectionId: string, versionId: string, query: string, options: ChunkSetSearchOptions): Promise<RankedHit[]>;
}

/**
 * BM25 over an index version's own chunk set: a version built with other chunking, measured by a
 * benchmark before it is activated. Ingestion writes postings for the active set only (the
 * `bm25_*` tables are keyed by collection, and a second set there would skew the active set's
 * statistics), so the set's chunks are read once and indexed in memory with the collection's
 * analyser. The index is rebuilt when the version's `chunk_set_generation` moves, which triggers
 * bump in every transaction that changes the set (migrations/0023_chunk_set_generation.sql): a build
 * round, a deleted or replaced document, an activation. A deleted document's chunks must leave the
 * index itself, not only the results: they count in N, df and the average length. The scope check
 * runs in SQL on the scored chunks (document status, filters, access groups). Keeps the last few sets. A set
 * of more than `maxChunks` (default `MAX_CHUNK_SET_CHUNKS`) is refused (`chunkSetTooLarge`).
 */
export function createChunkSetBm25(db: Queryable, options: { maxSets?: number; maxChunks?: number } = {}): ChunkSetBm25 {
  const maxSets = options.maxSets ?? 2;
  const maxChunks = options.maxChunks ?? MAX_CHUNK_SET_CHUNKS;
  const cache = new Map<string, { stamp: string; index: Promise<ChunkSetIndex> }>();

  async function indexFor(collectionId: string, versionId: string, analyzer: AnalyzerName): Promise<ChunkSetIndex> {
    // Read before the chunks: the index built below is then at least as new as its stamp, and a
    // change that commits in between moves the stamp again, so the next search rebuilds.
    const v = await db.query<{ stamp: string }>(`SELECT chunk_set_generation::text AS stamp FROM index_versions WHERE id = $1 AND collection_id = $2`, [versionId, collectionId]);
    const stamp = `${v.rows[0]?.stamp ?? 'missing'}:${analyzer}`;
    const key = `${collectionId}:${versionId}`;
    const hit = cache.get(key);
    if (hit && hit.stamp === stamp) {
      cache.delete(key);
      cache.set(key, hit);
      return hit.index;
    }
    // LIMIT caps what is read: one row past the cap means the set is too large (counted only then, for the error).
    const index = db
      .query<{ id: string; text: string }>(`SELECT id, text FROM chunks WHERE collection_id = $1 AND index_version_id = $2 LIMIT $3`, [collectionId, versionId, maxChunks + 1])
      .then(async (r) => {
        if (r.rows.length > maxChunks) {
          await assertChunkSetIndexable(db, collectionId, versionId, maxChunks);
          throw chunkSetTooLarge(versionId, r.rows.length, maxChunks);
        }
        return indexChunkSet(r.rows, analyzer);
      });
    cache.delete(key);
    cache.set(key, { stamp, index });
    index.catch(() => cache.get(key)?.index === index && cache.delete(key));
    while (cache.size > maxSets) cache.delete(cache.keys().next().value!);
    return index;
  }

  return {
    async search(collectionId, versionId, query, opts) {
      const analyzer = opts.analyzer ?? (await collectionAnalyzer(db, collectionId));
      const parsed = parseQuery(query, analyzer);
      if (isEmptyQuery(parsed)) return [];
      const index = await indexFor(collectionId, versionId, analyzer);
      const scored = scoreChunkSet(index, parsed, opts);
      if (scored.length === 0) return [];
      const check = chunkSetScopeQuery(collectionId, versionId, scored.map((s) => s.chunkId), opts.filters);
      const allowed = await db.query<{ id: string }>(check.sql, check.params);
      const ok = new Set(allowed.rows.map((r) => r.id));
      return scored.filter((s) => ok.has(s.chunkId)).slice(0, opts.limit);
    },
  };
}
