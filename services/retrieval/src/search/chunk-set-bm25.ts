import type { SearchFilters } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import { analyze, collectionAnalyzer, DEFAULT_BM25, isEmptyQuery, parseQuery, type AnalyzerName, type Bm25Params, type ParsedQuery } from '@quire/keyword-index';
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

/** Indexes chunk texts: per-chunk lengths and one posting per (term, chunk) with its positions. */
export function indexChunkSet(chunks: { id: string; text: string }[], analyzer: AnalyzerName): ChunkSetIndex {
  const postings = new Map<string, Posting[]>();
  const lengths: number[] = [];
  let total = 0;
  chunks.forEach((chunk, i) => {
    const tokens = analyze(chunk.text, analyzer);
    lengths.push(tokens.length);
    total += tokens.length;
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
  });
  const ids = chunks.map((c) => c.id);
  for (const list of postings.values()) list.sort((a, b) => b.tf - a.tf || lengths[a.chunk]! - lengths[b.chunk]! || (ids[a.chunk]! < ids[b.chunk]! ? -1 : 1));
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
 * formula, query frequencies, prefix expansion, phrase filter and per-term cap. Best first.
 */
export function scoreChunkSet(index: ChunkSetIndex, q: ParsedQuery, options: Omit<ChunkSetSearchOptions, 'limit' | 'analyzer' | 'filters'> = {}): { chunkId: string; score: number }[] {
  const { k1, b } = options.params ?? DEFAULT_BM25;
  const n = index.ids.length;
  const cap = options.maxPostingsPerTerm && q.phrases.length === 0 ? Math.trunc(options.maxPostingsPerTerm) : Infinity;
  const phrases = q.phrases.map((p) => phraseChunks(index, p));
  const scores = new Map<number, number>();
  for (const [term, qtf] of queryTerms(index, q, options.maxPrefixExpansions ?? 32)) {
    const list = index.postings.get(term);
    if (!list) continue;
    const df = list.length;
    const weight = qtf * Math.log(1 + (n - df + 0.5) / (df + 0.5));
    for (const p of list.slice(0, cap)) {
      if (!phrases.every((set) => set.has(p.chunk))) continue;
      const dl = index.lengths[p.chunk]!;
      const s = (weight * p.tf * (k1 + 1)) / (p.tf + k1 * (1 - b + (b * dl) / index.avgdl));
      scores.set(p.chunk, (scores.get(p.chunk) ?? 0) + s);
    }
  }
  return [...scores.entries()]
    .map(([chunk, score]) => ({ chunkId: index.ids[chunk]!, score }))
    .sort((x, y) => y.score - x.score || (x.chunkId < y.chunkId ? -1 : 1));
}

/** Which of the scored chunks the search may return: the version's, of ready documents, within the caller's filters. */
export function chunkSetScopeQuery(collectionId: string, versionId: string, chunkIds: string[], filters?: SearchFilters): SqlFragment {
  const scope = scopeConditions(collectionId, filters, 2, versionId);
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
 * analyser. The index is rebuilt when the version's `updated_at` or `chunks_total` move (a build
 * round wrote chunks); a deleted document's chunks drop out through the scope check, which runs in
 * SQL on the scored chunks (document status, filters, access groups). Keeps the last few sets.
 */
export function createChunkSetBm25(db: Queryable, options: { maxSets?: number } = {}): ChunkSetBm25 {
  const maxSets = options.maxSets ?? 2;
  const cache = new Map<string, { stamp: string; index: Promise<ChunkSetIndex> }>();

  async function indexFor(collectionId: string, versionId: string, analyzer: AnalyzerName): Promise<ChunkSetIndex> {
    const v = await db.query<{ stamp: string }>(`SELECT updated_at::text || ':' || chunks_total::text AS stamp FROM index_versions WHERE id = $1 AND collection_id = $2`, [versionId, collectionId]);
    const stamp = `${v.rows[0]?.stamp ?? 'missing'}:${analyzer}`;
    const key = `${collectionId}:${versionId}`;
    const hit = cache.get(key);
    if (hit && hit.stamp === stamp) {
      cache.delete(key);
      cache.set(key, hit);
      return hit.index;
    }
    const index = db
      .query<{ id: string; text: string }>(`SELECT id, text FROM chunks WHERE collection_id = $1 AND index_version_id = $2`, [collectionId, versionId])
      .then((r) => indexChunkSet(r.rows, analyzer));
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
