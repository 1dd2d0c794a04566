import type { Db, Queryable } from '@quire/db';
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

/**
 * Drops the graphs of deleted versions after the deleting transaction commits. Inside it, DROP INDEX
 * would queue an exclusive lock on chunk_vectors behind every writer of every collection, and every
 * search would queue behind that. On a server CONCURRENTLY waits for those without blocking anyone
 * (it cannot run in a transaction); PGlite runs one statement at a time, so a plain drop is the same
 * there. A process that stops before this leaves an empty index: `dropOrphanGraphs` finds it.
 */
export async function dropVersionGraphs(db: Db, indexVersionIds: string[]): Promise<void> {
  await dropGraphIndexes(db, indexVersionIds.map(hnswIndexName));
}

async function dropGraphIndexes(db: Db, names: string[]): Promise<void> {
  for (const name of names) {
    // The delete has committed whatever happens here: a drop that fails leaves an empty index, which
    // the next start's sweep removes, not an error for a request that succeeded.
    if (db.kind === 'postgres') {
      const failure = await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`).then(() => null, (error: unknown) => error as { code?: string });
      // Only a server that cannot drop concurrently (PGlite behind pglite-socket) gets a plain drop:
      // after a timeout or a cancel, a plain drop's exclusive lock would stop every search until it ran.
      if (failure === null || (failure.code !== '0A000' && failure.code !== '25001')) continue;
    }
    await db.query(`DROP INDEX IF EXISTS ${name}`).catch(() => undefined);
  }
}

/** Graph indexes whose version no longer exists (left by a process stopped between a delete and its drop); drops them. */
export async function dropOrphanGraphs(db: Db): Promise<number> {
  const r = await db.query<{ indexname: string }>(
    `SELECT i.indexname FROM pg_indexes i
      WHERE i.tablename = 'chunk_vectors' AND i.indexname LIKE 'chunk\\_vectors\\_hnsw\\_%'
        AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE 'chunk_vectors_hnsw_' || replace(v.id::text, '-', '') = i.indexname)`,
  );
  await dropGraphIndexes(db, r.rows.map((row) => row.indexname));
  return r.rows.length;
}
