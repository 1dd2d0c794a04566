import type { Queryable } from '@quire/db';
import { HNSW_MAX_DIMENSIONS, hnswIndexName } from '@quire/index-versions';

export { HNSW_MAX_DIMENSIONS, hnswIndexName };

/**
 * The graph of an `inline` version (one from before deferred graphs): a partial HNSW index over
 * every vector of the version, on the same expression retrieval orders by
 * (`embedding::vector(d) <=> $1::vector(d)` with `index_version_id = ...`), grown on each insert.
 * New versions get theirs from `startVersionGraph` instead, once they are large enough.
 * Identifiers and literals are interpolated because DDL takes no parameters; both are validated
 * (a UUID and an integer) first. Callers hold the version's advisory lock.
 */
export async function ensureHnswIndex(tx: Queryable, indexVersionId: string, dimensions: number): Promise<'created' | 'exists' | 'skipped'> {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error(`Bad dimension ${dimensions}`);
  if (dimensions > HNSW_MAX_DIMENSIONS) return 'skipped';
  const name = hnswIndexName(indexVersionId);
  // Checking first avoids CREATE INDEX's table lock, which would serialise every indexing transaction.
  const existing = await tx.query(`SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = 'i'`, [name]);
  if (existing.rows.length > 0) return 'exists';
  await tx.query(
    `CREATE INDEX IF NOT EXISTS ${name} ON chunk_vectors USING hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) ` +
      `WHERE index_version_id = '${indexVersionId.toLowerCase()}'`,
  );
  return 'created';
}
