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
  /**
   * The document whose text this is, when its chunks are not written yet (an ingestion job, a build
   * that re-chunks): its uses are recorded before the cache is read (`recordEmbeddingUses`), and
   * vectors are written only while it exists, so deleting it finds and takes them.
   */
  documentId?: string;
}

/**
 * SQL: the document `$doc` key-share locked, a row while it exists. A delete holds it FOR UPDATE
 * from before it reads what the document used until it commits, so a write that joins this either
 * commits before that read or waits and finds the document gone.
 */
const liveDocumentSql = (doc: string) => `SELECT id FROM documents WHERE id = ${doc} FOR KEY SHARE`;

/**
 * Records that the document uses these texts under the team (`embedding_cache_uses`, migrations/0025):
 * until its chunks hold them, a delete of another document keeps their cached vectors (a retry of a
 * failed job reads them instead of paying again), and deleting this document takes them. Nothing
 * is recorded once the document is gone (false).
 */
export async function recordEmbeddingUses(cache: EmbeddingCache & { documentId: string }, hashes: readonly string[]): Promise<boolean> {
  const r = await cache.db.query<{ id: string }>(
    `WITH doc AS (${liveDocumentSql('$1')}),
     used AS (INSERT INTO embedding_cache_uses (document_id, content_sha256, team_id)
              SELECT doc.id, u.h, $2 FROM doc, unnest($3::text[]) AS u(h) ON CONFLICT DO NOTHING)
     SELECT id FROM doc`,
    [cache.documentId, cache.teamId, [...new Set(hashes)]],
  );
  return r.rows.length > 0;
}

/**
 * Deletes the uses the documents recorded and returns their texts' hashes: their chunks hold the text
 * now (the index transaction), or they are about to be deleted. Either way the caller passes the
 * hashes on to `forgetUnusedEmbeddings` once the chunks or documents are written or gone.
 */
export async function releaseEmbeddingUses(tx: Queryable, documentIds: readonly string[]): Promise<string[]> {
  if (documentIds.length === 0) return [];
  const r = await tx.query<{ content_sha256: string }>(`DELETE FROM embedding_cache_uses WHERE document_id = ANY($1::uuid[]) RETURNING content_sha256`, [[...new Set(documentIds)]]);
  return [...new Set(r.rows.map((row) => row.content_sha256))];
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

/**
 * Stores vectors (pgvector literals, in `hashes` order) under the team; a vector already there is
 * kept. For a document, only while it exists: a job still embedding when its document was deleted
 * would otherwise leave vectors behind that the delete did not see.
 */
export async function writeCachedEmbeddings(cache: EmbeddingCache, model: string, requestedDimensions: number, hashes: readonly string[], literals: readonly string[]): Promise<void> {
  const params = [cache.teamId, model, requestedDimensions, hashes, literals];
  if (cache.documentId) {
    await cache.db.query(
      `WITH doc AS (${liveDocumentSql('$6')})
       INSERT INTO embedding_cache (team_id, content_sha256, embedding_model, requested_dimensions, embedding)
       SELECT $1, u.h, $2, $3, u.e::vector FROM unnest($4::text[], $5::text[]) AS u(h, e) WHERE EXISTS (SELECT 1 FROM doc) ON CONFLICT DO NOTHING`,
      [...params, cache.documentId],
    );
    return;
  }
  await cache.db.query(
    `INSERT INTO embedding_cache (team_id, content_sha256, embedding_model, requested_dimensions, embedding)
     SELECT $1, u.h, $2, $3, u.e::vector FROM unnest($4::text[], $5::text[]) AS u(h, e) ON CONFLICT DO NOTHING`,
    params,
  );
}

/**
 * Content that left the database: the hashes of chunks just deleted or replaced and of the uses
 * released (`releaseEmbeddingUses`; called after they are gone, in the same transaction), or a
 * collection about to be deleted (called before, its chunks and its documents' uses then count as gone).
 */
export type GoneContent = { hashes: readonly string[] } | { collectionId: string };

/**
 * SQL: the team of the cache row `e` still holds its text: in a surviving chunk of a document the
 * team owns or submitted, or in a live document whose job recorded the use (its chunks not written
 * yet: queued, embedding, or failed and waiting for a retry). `collection` leaves out the chunks and
 * documents of a collection about to be deleted.
 */
const referencedSql = (collection = '') => `(EXISTS (
  SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
   WHERE c.content_sha256 = e.content_sha256 ${collection ? `AND c.collection_id <> ${collection}` : ''}
     AND (d.team_id = e.team_id OR d.submitted_identity->>'team_id' = e.team_id))
  OR EXISTS (
  SELECT 1 FROM embedding_cache_uses u ${collection ? `JOIN documents d ON d.id = u.document_id AND d.collection_id <> ${collection}` : ''}
   WHERE u.content_sha256 = e.content_sha256 AND u.team_id = e.team_id))`;

/**
 * Deletes the cached vectors of gone content that no surviving chunk and no live document's recorded
 * use of the row's team references, in the transaction that deletes the content, so a deleted
 * document's vectors do not outlive it. In the delete rather than a later sweep: only then are the
 * gone hashes known without reading the whole cache, and the delete commits with nothing left to
 * do. A document's text is known by its chunks once it is indexed, and by the uses its job recorded
 * before (`recordEmbeddingUses`): a document that failed after some of its vectors were cached has
 * no chunks, and only its uses say which vectors were its. A job that records its uses before it
 * reads the cache keeps the rows it reads from being taken by another delete meanwhile; an index
 * version build of stored chunks records none (its chunks hold the text), and should a delete take
 * a row it cached, its write falls back to the vectors it holds. Returns the rows deleted.
 */
export async function forgetUnusedEmbeddings(tx: Queryable, gone: GoneContent): Promise<number> {
  if ('hashes' in gone) {
    if (gone.hashes.length === 0) return 0;
    const r = await tx.query(`DELETE FROM embedding_cache e WHERE e.content_sha256 = ANY($1::text[]) AND NOT ${referencedSql()}`, [[...new Set(gone.hashes)]]);
    return r.rowCount;
  }
  const r = await tx.query(
    `DELETE FROM embedding_cache e USING (
       SELECT content_sha256 FROM chunks WHERE collection_id = $1
       UNION SELECT u.content_sha256 FROM embedding_cache_uses u JOIN documents d ON d.id = u.document_id WHERE d.collection_id = $1) g
      WHERE e.content_sha256 = g.content_sha256 AND NOT ${referencedSql('$1')}`,
    [gone.collectionId],
  );
  return r.rowCount;
}
