import { isUuid } from '@quire/contracts';
import { lockCollectionOfVersion } from './collection-locks.js';
import type { Queryable } from '@quire/db';

/**
 * How an index version's HNSW graph is kept (`index_versions.hnsw_state`, migration 0010):
 * - `inline`: the graph covers every vector of the version and grows on insert (versions from
 *   before deferred graphs, and writers that create the index themselves);
 * - `exact`: no graph yet; vectors are written pending and searched exactly;
 * - `graph`: a graph over the version's vectors that are not pending; the pending ones are searched
 *   exactly beside it until they are moved in.
 */
export type HnswState = 'inline' | 'exact' | 'graph';

/** pgvector's HNSW on `vector` stops at 2,000 dimensions; larger ones are always searched exactly. */
export const HNSW_MAX_DIMENSIONS = 2000;

export function hnswIndexName(indexVersionId: string): string {
  if (!isUuid(indexVersionId)) throw new Error(`Not an index version id: ${indexVersionId}`);
  return `chunk_vectors_hnsw_${indexVersionId.replace(/-/g, '').toLowerCase()}`;
}

/**
 * The number of vectors from which a version gets a graph. An exact search costs about the same per
 * float, so `vectors` counts vectors of up to 256 dimensions and larger vectors count for more:
 * 10,000 at 256 dimensions is 1,666 at 1,536.
 */
export function graphThreshold(vectors: number, dimensions: number): number {
  return Math.max(1, Math.floor((vectors * 256) / Math.max(256, dimensions)));
}

/** The version's vectors, counted up to `cap` (enough to compare with a threshold without reading them all). */
export async function countVersionVectors(q: Queryable, indexVersionId: string, cap: number): Promise<number> {
  const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM chunk_vectors WHERE index_version_id = $1 LIMIT $2) x`, [indexVersionId, cap]);
  return Number(r.rows[0]?.n ?? 0);
}

/** The version's pending vectors (not in its graph yet), counted up to `cap`. */
export async function countPendingVectors(q: Queryable, indexVersionId: string, cap: number): Promise<number> {
  const r = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM chunk_vectors WHERE index_version_id = $1 AND graph_pending LIMIT $2) x`,
    [indexVersionId, cap],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Gives an `exact` version its graph: a partial HNSW index over the vectors that are not pending,
 * on the same expression retrieval orders by. For a version ingestion wrote every vector is pending,
 * so the index starts empty and the statement is quick; `moveIntoGraph` then fills it a slice at a
 * time. DDL takes no parameters: the id is validated and the dimension read from the row.
 */
export async function startVersionGraph(tx: Queryable, indexVersionId: string): Promise<'started' | 'not_exact' | 'no_graph_possible'> {
  const name = hnswIndexName(indexVersionId);
  // CREATE INDEX waits for every writer of chunk_vectors; the collection lock first (collection-locks.ts)
  // keeps this collection's writers from waiting on the version row it then holds.
  if (!(await lockCollectionOfVersion(tx, indexVersionId, 'exclusive'))) return 'not_exact';
  const v = await tx.query<{ hnsw_state: HnswState; dimensions: number | null }>(`SELECT hnsw_state, dimensions FROM index_versions WHERE id = $1 FOR UPDATE`, [indexVersionId]);
  const row = v.rows[0];
  if (!row || row.hnsw_state !== 'exact') return 'not_exact';
  const d = row.dimensions === null ? null : Number(row.dimensions);
  if (d === null || !Number.isInteger(d) || d < 1 || d > HNSW_MAX_DIMENSIONS) return 'no_graph_possible';
  await tx.query(
    `CREATE INDEX IF NOT EXISTS ${name} ON chunk_vectors USING hnsw ((embedding::vector(${d})) vector_cosine_ops) ` +
      `WHERE index_version_id = '${indexVersionId.toLowerCase()}' AND NOT graph_pending`,
  );
  await tx.query(`UPDATE index_versions SET hnsw_state = 'graph' WHERE id = $1`, [indexVersionId]);
  return 'started';
}

/**
 * Moves up to `limit` pending vectors of a `graph` version into its graph (the update inserts them
 * into the HNSW index, about 3 ms each in PGlite). Small slices keep the one PGlite connection free
 * for ingestion and search in between. Returns how many moved (0: none left).
 */
export async function moveIntoGraph(tx: Queryable, indexVersionId: string, limit: number): Promise<number> {
  // A writer of the version's vectors (collection-locks.ts), so a version delete or activation waits for it.
  if (!(await lockCollectionOfVersion(tx, indexVersionId, 'shared'))) return 0;
  const r = await tx.query(
    `UPDATE chunk_vectors SET graph_pending = false
      WHERE index_version_id = $1 AND graph_pending
        AND chunk_id = ANY (ARRAY(SELECT chunk_id FROM chunk_vectors WHERE index_version_id = $1 AND graph_pending LIMIT $2))`,
    [indexVersionId, Math.max(1, Math.floor(limit))],
  );
  return r.rowCount;
}
