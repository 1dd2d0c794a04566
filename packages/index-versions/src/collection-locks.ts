import type { Queryable } from '@quire/db';

/*
 * One lock order for a collection's index work. On a PostgreSQL server transactions run side by side,
 * and two paths that take the same locks in different orders deadlock (40P01: the server aborts one);
 * PGlite runs one transaction at a time and never showed it. Every transaction that writes or deletes a
 * collection's chunks or vectors, or changes its index versions, takes, in this order:
 *   1. the collection's lock: shared to write chunks or vectors (indexing jobs, build and re-chunk
 *      rounds, graph moves, document deletes), which run side by side; exclusive to change which
 *      versions exist, which one is active, or a version's graph (activation, promotion, deletion, the
 *      graph's start). A change waits for the writes in flight and holds new ones off, so it sees every
 *      chunk they wrote, and no writer can hold a table lock its DDL waits for while waiting on a row
 *      it holds. It is an advisory lock, not the collection row's: waiting requests queue in order, so
 *      a stream of overlapping writers cannot starve a change (a row's share lock is granted to a newcomer
 *      even while an exclusive request waits). Uploads take no part: their foreign key's key-share lock
 *      on the row conflicts with none of this.
 *   2. document rows;
 *   3. a version's advisory lock (`lockVersionWrites`), then its index_versions row;
 *   4. data rows, and DDL last.
 */

/**
 * Two-key advisory locks of this class, then the hash of the collection id, are collection locks (no
 * other lock uses the class). Ids are hashed lower-cased: a route may pass one as the caller spelled it.
 */
const COLLECTION_LOCK_CLASS = 7411;

/** Step 1 for a writer: the collection's index settings, or null when the collection is gone. */
export async function lockCollectionForIndexWrite(tx: Queryable, collectionId: string): Promise<{ currentIndexVersionId: string | null; analyzer: 'english' | 'simple' } | null> {
  await tx.query(`SELECT pg_advisory_xact_lock_shared(${COLLECTION_LOCK_CLASS}, hashtext(lower($1)))`, [collectionId]);
  // Read after the lock: a change that committed before it was granted is seen.
  const r = await tx.query<{ current_index_version_id: string | null; analyzer: 'english' | 'simple' }>(
    `SELECT current_index_version_id, CASE WHEN search_settings->>'language' = 'simple' THEN 'simple' ELSE 'english' END AS analyzer
       FROM collections WHERE id = $1`,
    [collectionId],
  );
  const row = r.rows[0];
  return row ? { currentIndexVersionId: row.current_index_version_id, analyzer: row.analyzer } : null;
}

/** Step 1 for a change to the collection's versions. */
export async function lockCollectionForVersionChange(tx: Queryable, collectionId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${COLLECTION_LOCK_CLASS}, hashtext(lower($1)))`, [collectionId]);
}

/** Step 1 by the id of one of the collection's versions (`exclusive` for a change): false when the version is gone. */
export async function lockCollectionOfVersion(tx: Queryable, indexVersionId: string, mode: 'shared' | 'exclusive'): Promise<boolean> {
  const v = await tx.query<{ collection_id: string }>(`SELECT collection_id FROM index_versions WHERE id = $1`, [indexVersionId]);
  const collectionId = v.rows[0]?.collection_id;
  if (!collectionId) return false;
  if (mode === 'exclusive') await lockCollectionForVersionChange(tx, collectionId);
  else await tx.query(`SELECT pg_advisory_xact_lock_shared(${COLLECTION_LOCK_CLASS}, hashtext(lower($1)))`, [collectionId]);
  return true;
}

/** Step 3: serialises the writers of one version's vectors (it fixes the version's dimension on first use). Re-entrant within a transaction. */
export async function lockVersionWrites(tx: Queryable, indexVersionId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext(lower($1)))`, [indexVersionId]);
}
