import type { Queryable } from '@quire/db';

/*
 * One lock order for a collection's index work. On a PostgreSQL server transactions run side by side,
 * and two paths that take the same locks in different orders deadlock (40P01: the server aborts one);
 * PGlite runs one transaction at a time and never showed it. Every transaction that writes a
 * collection's chunks or vectors, or changes its index versions, takes, in this order:
 *   1. the collection row: FOR SHARE to write chunks or vectors (indexing jobs, build and re-chunk
 *      rounds), which run side by side; FOR NO KEY UPDATE to change which versions exist, which one
 *      is active, or a version's graph (activation, deletion, the graph's start). A change waits for
 *      the writes in flight and holds new ones off, so it sees every chunk they wrote, and no writer
 *      can hold a table lock its DDL waits for while waiting on a row it holds. Uploads take only the
 *      key-share lock of their foreign key, which conflicts with neither.
 *   2. document rows;
 *   3. a version's advisory lock (`lockVersionWrites`), then its index_versions row;
 *   4. data rows, and DDL last.
 */

/** Step 1 for a writer: null when the collection is gone. */
export async function lockCollectionForIndexWrite(tx: Queryable, collectionId: string): Promise<{ currentIndexVersionId: string | null; analyzer: 'english' | 'simple' } | null> {
  const r = await tx.query<{ current_index_version_id: string | null; analyzer: 'english' | 'simple' }>(
    `SELECT current_index_version_id, CASE WHEN search_settings->>'language' = 'simple' THEN 'simple' ELSE 'english' END AS analyzer
       FROM collections WHERE id = $1 FOR SHARE`,
    [collectionId],
  );
  const row = r.rows[0];
  return row ? { currentIndexVersionId: row.current_index_version_id, analyzer: row.analyzer } : null;
}

/** Step 1 for a change to the collection's versions, by the id of one of them: false when it is gone. */
export async function lockCollectionOfVersion(tx: Queryable, indexVersionId: string): Promise<boolean> {
  const r = await tx.query(
    `SELECT 1 FROM collections c WHERE c.id = (SELECT collection_id FROM index_versions WHERE id = $1) FOR NO KEY UPDATE`,
    [indexVersionId],
  );
  return r.rows.length > 0;
}

/** Step 3: serialises the writers of one version's vectors (it fixes the version's dimension on first use). Re-entrant within a transaction. */
export async function lockVersionWrites(tx: Queryable, indexVersionId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [indexVersionId]);
}
