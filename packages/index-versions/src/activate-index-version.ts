import { ChunkingSchema, sameChunking, type Chunking } from '@quire/contracts';
import { readJsonb, type Queryable } from '@quire/db';
import { rebuildCollectionPostings } from '@quire/keyword-index';
import { lockCollectionForVersionChange } from './collection-locks.js';

export type ActivationOutcome = 'activated' | 'not_ready' | 'incomplete' | 'missing';

/**
 * Stored chunking settings read as ingestion reads them (a stored `{}`, or NULL, has the defaults), so
 * two spellings of one setting compare equal.
 * @throws JsonbColumnError when they do not parse: activation compares them, so it cannot guess.
 */
function chunkingOf(value: unknown, column: string): Chunking {
  return readJsonb(ChunkingSchema, value ?? {}, column);
}

/**
 * Switches the collection to a built version inside the caller's transaction. A query reads the
 * current version id once, before its legs run; it then reads the chunk set that version's vectors
 * point at (retrieval's `scopeConditions`), which the swap below relabels but never changes, so a
 * query loaded before the switch still sees the old version whole. The previous version is retired
 * but kept (its vectors and, when re-chunked, its chunks stay) until deleted.
 */
// The collection's lock is taken exclusive first (collection-locks.ts): activation waits for the index
// writes in flight, which hold it shared, so the count of missing vectors below sees their chunks. The
// row lock after it serialises activations and version deletes; uploads, which take only their foreign
// key's key-share lock while holding a document's row lock, are not blocked into a cycle with this
// transaction's later UPDATE of documents.
export async function activateIndexVersion(tx: Queryable, collectionId: string, id: string): Promise<ActivationOutcome> {
  await lockCollectionForVersionChange(tx, collectionId);
  const c = await tx.query<{ chunking: unknown; current_index_version_id: string | null }>(
    `SELECT chunking, current_index_version_id FROM collections WHERE id = $1 FOR NO KEY UPDATE`,
    [collectionId],
  );
  const v = await tx.query<{ status: string; embedding_model: string | null; dimensions: number | null; requested_dimensions: number | null; chunking: unknown }>(
    `SELECT status, embedding_model, dimensions, requested_dimensions, chunking FROM index_versions WHERE id = $1 AND collection_id = $2 FOR UPDATE`,
    [id, collectionId],
  );
  const row = v.rows[0];
  const coll = c.rows[0];
  if (!row || !coll) return 'missing';
  if (row.status !== 'ready' && row.status !== 'retired') return 'not_ready';
  if (coll.current_index_version_id === id) return 'activated';
  const chunking = row.chunking ? chunkingOf(row.chunking, `index_versions.chunking (${id})`) : null;
  // A version with other chunking has its own chunk set, which becomes the active one.
  const rechunked = !!chunking && !sameChunking(chunking, chunkingOf(coll.chunking, `collections.chunking (${collectionId})`));
  // A document indexed by a job that started before the build began may lack a vector (or, for a
  // re-chunked version, its chunks) here.
  const missing = await tx.query<{ n: number }>(
    rechunked
      ? `SELECT ((SELECT count(*) FROM chunks ch WHERE ch.index_version_id = $2
                    AND NOT EXISTS (SELECT 1 FROM chunk_vectors cv WHERE cv.chunk_id = ch.id AND cv.index_version_id = $2))
               + (SELECT count(*) FROM documents d WHERE d.collection_id = $1 AND d.status = 'ready' AND d.replaces_document_id IS NULL
                    AND COALESCE(d.chunks_total, 0) > 0
                    AND NOT EXISTS (SELECT 1 FROM chunks ch WHERE ch.document_id = d.id AND ch.index_version_id = $2)))::int AS n`
      : `SELECT count(*)::int AS n FROM chunks ch WHERE ch.collection_id = $1 AND ch.index_version_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM chunk_vectors cv WHERE cv.chunk_id = ch.id AND cv.index_version_id = $2)`,
    [collectionId, id],
  );
  if (missing.rows[0]!.n > 0) {
    await tx.query(`UPDATE index_versions SET status = 'building', updated_at = now() WHERE id = $1`, [id]);
    return 'incomplete';
  }
  if (rechunked) {
    // The swap: the active set goes to the outgoing version (kept with its vectors until that
    // version is deleted), the new set becomes active, and BM25 follows, all in this transaction,
    // so a query sees the old chunks or the new ones.
    await tx.query(`UPDATE chunks SET index_version_id = $2 WHERE collection_id = $1 AND index_version_id IS NULL`, [collectionId, coll.current_index_version_id]);
    await tx.query(`UPDATE chunks SET index_version_id = NULL WHERE index_version_id = $1`, [id]);
    await rebuildCollectionPostings(tx, collectionId);
    await tx.query(
      `UPDATE documents d SET chunks_total = n.n, chunks_embedded = n.n, updated_at = now()
         FROM (SELECT document_id, count(*)::int AS n FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL GROUP BY document_id) n
        WHERE d.id = n.document_id`,
      [collectionId],
    );
  }
  if (!rechunked && row.embedding_model) {
    // Every active chunk has this version's vector (checked above): a ready document's progress says
    // so, also when the collection had no model before (its documents were embedded by the build).
    await tx.query(
      `UPDATE documents SET chunks_embedded = chunks_total, updated_at = now()
        WHERE collection_id = $1 AND status = 'ready' AND chunks_total IS NOT NULL AND chunks_embedded IS DISTINCT FROM chunks_total`,
      [collectionId],
    );
  }
  await tx.query(`UPDATE index_versions SET status = 'retired', updated_at = now() WHERE id = $2 AND id <> $1`, [id, coll.current_index_version_id]);
  await tx.query(`UPDATE index_versions SET status = 'ready', activated_at = now(), updated_at = now() WHERE id = $1`, [id]);
  await tx.query(
    `UPDATE collections SET current_index_version_id = $2, embedding_model = $3, embedding_dimensions = $4,
            chunking = COALESCE($5::jsonb, chunking), updated_at = now() WHERE id = $1`,
    [collectionId, id, row.embedding_model, row.requested_dimensions, chunking ? JSON.stringify(chunking) : null],
  );
  return 'activated';
}
