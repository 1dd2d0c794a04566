import type { Db } from '@quire/db';
import type { RankedHit } from './rrf.js';
import { hasSelectiveFilters, scopeConditions, uuidLiteral, type AccessFilters, type ChunkSet, type SqlFragment } from './scope-sql.js';

export interface VectorSearchInput {
  collectionId: string;
  indexVersionId: string;
  dimensions: number;
  embedding: number[];
  limit: number;
  filters?: AccessFilters;
  /**
   * The index version whose own chunk set the vectors belong to (a re-chunked version under
   * evaluation, see `scopeConditions`); absent: the set `indexVersionId`'s vectors point at, which
   * stays that version's across an activation.
   */
  chunkSetVersionId?: string | null;
  /**
   * The version's graph is deferred (`hnsw_state = 'graph'`): vectors not moved into it yet are
   * searched exactly beside it. A version without a graph (`exact`) needs nothing: with no index the
   * planner scans, which is exact.
   */
  pendingTail?: boolean;
}

/**
 * Cosine kNN on one index version. It mirrors ingestion's partial expression index
 * `USING hnsw ((embedding::vector(d)) vector_cosine_ops) WHERE index_version_id = '<uuid>'`:
 * the same cast in ORDER BY and the version id inlined so the predicate is provable at plan time.
 */
export function vectorQuery(input: VectorSearchInput): SqlFragment {
  const d = input.dimensions;
  if (!Number.isInteger(d) || d <= 0 || d > 16000) throw new Error(`bad dimensions: ${d}`);
  const scope = scopeConditions(input.collectionId, input.filters, 3, input.chunkSetVersionId ? { own: input.chunkSetVersionId } : 'vectors');
  const version = uuidLiteral(input.indexVersionId);
  const select = `SELECT cv.chunk_id, (1 - (cv.embedding::vector(${d}) <=> $1::vector(${d})))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id`;
  const params = [toVectorLiteral(input.embedding), input.limit, ...scope.params];
  if (!input.pendingTail) {
    return {
      sql: `${select}
WHERE cv.index_version_id = ${version}
  AND ${scope.sql}
ORDER BY cv.embedding::vector(${d}) <=> $1::vector(${d})
LIMIT $2`,
      params,
    };
  }
  // The graph's index is partial on NOT graph_pending, so the first branch can use it; the pending
  // tail (bounded by hnswMaxPending) comes through its own index and is ranked by exact score.
  return {
    sql: `SELECT chunk_id, score FROM (
(${select}
WHERE cv.index_version_id = ${version} AND NOT cv.graph_pending
  AND ${scope.sql}
ORDER BY cv.embedding::vector(${d}) <=> $1::vector(${d})
LIMIT $2)
UNION ALL
(${select}
WHERE cv.index_version_id = ${version} AND cv.graph_pending
  AND ${scope.sql}
ORDER BY score DESC, cv.chunk_id
LIMIT $2)
) v
ORDER BY score DESC, chunk_id
LIMIT $2`,
    params,
  };
}

export function toVectorLiteral(values: number[]): string {
  return `[${values.map((v) => (Number.isFinite(v) ? String(v) : '0')).join(',')}]`;
}

/**
 * Exact cosine search over the chunks the filters leave: for a selective filter this is cheaper than
 * the graph and never misses. Ordering by the computed score (not the operator) keeps HNSW out.
 */
export function exactVectorQuery(input: VectorSearchInput): SqlFragment {
  const d = input.dimensions;
  if (!Number.isInteger(d) || d <= 0 || d > 16000) throw new Error(`bad dimensions: ${d}`);
  const scope = scopeConditions(input.collectionId, input.filters, 3, chunkSetOf(input));
  return {
    sql: `WITH scoped AS MATERIALIZED (
  SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
  WHERE ${scope.sql}
)
SELECT cv.chunk_id, (1 - (cv.embedding::vector(${d}) <=> $1::vector(${d})))::float8 AS score
FROM scoped s
JOIN chunk_vectors cv ON cv.index_version_id = ${uuidLiteral(input.indexVersionId)} AND cv.chunk_id = s.id
ORDER BY score DESC, cv.chunk_id
LIMIT $2`,
    params: [toVectorLiteral(input.embedding), input.limit, ...scope.params],
  };
}

/** Below this many matching chunks a filtered vector search is exact instead of approximate. */
export const EXACT_SEARCH_THRESHOLD = 5000;

/** Without the vectors joined, the chunk set is named: the version's own, or the one its vectors point at. */
function chunkSetOf(input: VectorSearchInput): ChunkSet {
  return input.chunkSetVersionId ? { own: input.chunkSetVersionId } : { of: input.indexVersionId };
}

async function matchingChunks(db: Db, input: VectorSearchInput, cap: number): Promise<number> {
  const scope = scopeConditions(input.collectionId, input.filters, 1, chunkSetOf(input));
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE ${scope.sql} LIMIT ${cap}) x`,
    scope.params,
  );
  return Number(r.rows[0]?.n ?? 0);
}

export const HIDES_DOCUMENTS_SQL = `SELECT EXISTS (SELECT 1 FROM documents d WHERE d.collection_id = $1
  AND d.access_groups <> '{}' AND d.replaces_document_id IS NULL AND d.status = 'ready'
  AND NOT (d.access_groups && $2::text[])) AS hidden`;

/**
 * Whether a ready document of the collection is hidden from the caller's groups. Only then can the
 * access check leave a caller few of the collection's chunks; documents, not chunks, are read, and
 * the scan stops at the first hidden one. Replacement rows hold no chunks, so they hide nothing.
 * The first three conditions are the predicate of `documents_restricted_idx` (migration 0016),
 * written the same way so the planner can use it: a collection that restricts nothing is a probe.
 */
export async function hidesDocuments(db: Db, collectionId: string, groups: string[]): Promise<boolean> {
  const r = await db.query<{ hidden: boolean }>(HIDES_DOCUMENTS_SQL, [collectionId, groups]);
  return r.rows[0]?.hidden === true;
}

async function exactSearch(db: Db, input: VectorSearchInput): Promise<RankedHit[]> {
  const exact = exactVectorQuery(input);
  const rows = (await db.query<{ chunk_id: string; score: number }>(exact.sql, exact.params)).rows;
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
}

/**
 * A filtered search, the caller's access groups included, is exact when few chunks match: the graph
 * applies filters after its scan, and its iterative scan gives up after `hnsw.max_scan_tuples`, so
 * a caller who may read a small share of a large collection would get fewer than `limit` hits. When
 * many chunks match, the graph is tried first and the exact search runs only if it came back short.
 *
 * The graph search runs in a transaction so the HNSW settings stay local to it: ef_search twice the
 * candidate count and at least 80 (the default 40 would cap the result and lose recall), and
 * iterative scans so filters applied after the index scan still fill the limit (pgvector >= 0.8).
 */
export async function vectorSearch(db: Db, input: VectorSearchInput): Promise<RankedHit[]> {
  const groups = input.filters?.accessGroups;
  const filtered = hasSelectiveFilters(input.filters) || (groups !== undefined && (await hidesDocuments(db, input.collectionId, groups)));
  // Counting to at least `limit` makes "at least this many match" mean the graph should fill it.
  const threshold = Math.max(EXACT_SEARCH_THRESHOLD, input.limit);
  if (filtered && (await matchingChunks(db, input, threshold)) < threshold) return exactSearch(db, input);
  const { sql, params } = vectorQuery(input);
  // pgvector's default 40 gave recall@10 0.93 on the 100k benchmark; 80 keeps it >= 0.95 (docs/benchmarks.md).
  const efSearch = Math.min(1000, Math.max(80, input.limit * 2));
  const rows = await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL hnsw.ef_search = ${efSearch}`);
    await tx.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
    return (await tx.query<{ chunk_id: string; score: number }>(sql, params)).rows;
  });
  if (filtered && rows.length < input.limit) return exactSearch(db, input);
  // relaxed_order may return slightly out of order; the exact similarity is the truth.
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) })).sort((a, b) => b.score - a.score);
}
