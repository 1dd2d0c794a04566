import type { Queryable } from '@quire/db';

/*
 * `embedding_cache` (migrations/0024_embedding_cache_team.sql): vectors a team paid for, keyed by
 * the team, the embedding input's hash, the model and the requested dimension. A hit makes no
 * provider call, which shows in the team's usage; keyed by the team billed, a hit tells a team only
 * that it embedded the same text itself before, never that another team did. The cache is what
 * keeps a retry from paying twice (each batch is written as soon as it is embedded) and what the
 * index transaction copies vectors from (index/index-chunks.ts `writeVectors`).
 */

/** Where `embedChunks` reads and writes vectors, and for which team. */
export interface EmbeddingCache {
  db: Queryable;
  /** The team the embedding calls are billed to: the identity they are signed for (submitter, retrier or version builder). */
  teamId: string;
}

/** One model's vectors of `hashes` that `cache.teamId` already has, by hash. */
export async function readCachedEmbeddings(cache: EmbeddingCache, model: string, requestedDimensions: number, hashes: readonly string[]): Promise<Map<string, number[]>> {
  const byHash = new Map<string, number[]>();
  if (hashes.length === 0) return byHash;
  const r = await cache.db.query<{ content_sha256: string; embedding: string }>(
    `SELECT content_sha256, embedding::text AS embedding FROM embedding_cache
      WHERE team_id = $1 AND embedding_model = $2 AND requested_dimensions = $3 AND content_sha256 = ANY($4::text[])`,
    [cache.teamId, model, requestedDimensions, [...new Set(hashes)]],
  );
  for (const row of r.rows) byHash.set(row.content_sha256, JSON.parse(row.embedding) as number[]);
  return byHash;
}

/** Stores vectors (pgvector literals, in `hashes` order) under the team; a vector already there is kept. */
export async function writeCachedEmbeddings(cache: EmbeddingCache, model: string, requestedDimensions: number, hashes: readonly string[], literals: readonly string[]): Promise<void> {
  await cache.db.query(
    `INSERT INTO embedding_cache (team_id, content_sha256, embedding_model, requested_dimensions, embedding)
     SELECT $1, u.h, $2, $3, u.e::vector FROM unnest($4::text[], $5::text[]) AS u(h, e) ON CONFLICT DO NOTHING`,
    [cache.teamId, model, requestedDimensions, hashes, literals],
  );
}

/**
 * Content that left the database: the hashes of chunks just deleted or replaced (called after they
 * are gone, in the same transaction), or a collection about to be deleted (called before, its chunks
 * then count as gone).
 */
export type GoneContent = { hashes: readonly string[] } | { collectionId: string };

/** A team's surviving chunk of the cache row `e`'s text: in a document the team owns or submitted. */
const referencedSql = (exclude: string) => `EXISTS (
  SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
   WHERE c.content_sha256 = e.content_sha256 ${exclude}
     AND (d.team_id = e.team_id OR d.submitted_identity->>'team_id' = e.team_id))`;

/**
 * Deletes the cached vectors of gone content that no surviving chunk of the row's team references,
 * in the transaction that deletes the content, so a deleted document's vectors do not outlive it.
 * In the delete rather than a later sweep: only then are the gone hashes known without reading the
 * whole cache, and the delete commits with nothing left to do. Only these hashes: a job still
 * embedding has cached vectors whose chunks are not written yet, and a wider sweep would take them.
 * A row of the same text that such a job cached is taken if no surviving chunk holds the text; the
 * job's index transaction then writes the vectors it holds instead of copying them, and only a retry
 * of that job would embed (and pay for) the text again. Returns the rows deleted.
 */
export async function forgetUnusedEmbeddings(tx: Queryable, gone: GoneContent): Promise<number> {
  if ('hashes' in gone) {
    if (gone.hashes.length === 0) return 0;
    const r = await tx.query(`DELETE FROM embedding_cache e WHERE e.content_sha256 = ANY($1::text[]) AND NOT ${referencedSql('')}`, [[...new Set(gone.hashes)]]);
    return r.rowCount;
  }
  const r = await tx.query(
    `DELETE FROM embedding_cache e USING (SELECT DISTINCT content_sha256 FROM chunks WHERE collection_id = $1) g
      WHERE e.content_sha256 = g.content_sha256 AND NOT ${referencedSql('AND c.collection_id <> $1')}`,
    [gone.collectionId],
  );
  return r.rowCount;
}
