import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { writePostings } from '@quire/keyword-index';

export interface BulkDoc {
  title: string;
  text: string;
  metadata?: Record<string, unknown>;
  embedding?: number[];
}

export interface BulkCollection {
  collectionId: string;
  indexVersionId: string | null;
  dimensions: number | null;
  /** chunk id per input document, in input order (one chunk per document). */
  chunkIds: string[];
}

export async function createBenchCollection(db: Db, options: { name: string; dimensions?: number }): Promise<BulkCollection> {
  const collectionId = randomUUID();
  const indexVersionId = options.dimensions ? randomUUID() : null;
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO collections (id, team_id, name, embedding_model, embedding_dimensions, generation_model, chunking, current_index_version_id)
       VALUES ($1, 'default', $2, $3, $4, NULL, '{}'::jsonb, $5)`,
      [collectionId, options.name, options.dimensions ? 'fake/embed' : null, options.dimensions ?? null, indexVersionId],
    );
    if (indexVersionId) {
      await tx.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status) VALUES ($1, $2, 'fake/embed', $3, 'ready')`, [
        indexVersionId,
        collectionId,
        options.dimensions,
      ]);
    }
  });
  return { collectionId, indexVersionId, dimensions: options.dimensions ?? null, chunkIds: [] };
}

/**
 * Loads one document with one chunk per input row, the way ingestion's index step writes them:
 * chunks, vectors and BM25 postings in one transaction per batch, with multi-row unnest inserts.
 */
export async function bulkLoad(db: Db, coll: BulkCollection, docs: BulkDoc[], batchSize = 1000): Promise<void> {
  for (let start = 0; start < docs.length; start += batchSize) {
    const batch = docs.slice(start, start + batchSize);
    const docIds = batch.map(() => randomUUID());
    const chunkIds = batch.map(() => randomUUID());
    const texts = batch.map((d) => `${d.title} ${d.text}`.trim());
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO documents (id, collection_id, team_id, title, mime_type, byte_size, content_sha256, metadata, status, stage)
         SELECT u.id, $1, 'default', u.title, 'text/plain', 0, 'bench', u.metadata::jsonb, 'ready', 'done'
           FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u(id, title, metadata)`,
        [coll.collectionId, docIds, batch.map((d) => d.title), batch.map((d) => JSON.stringify(d.metadata ?? {}))],
      );
      await tx.query(
        `INSERT INTO chunks (id, document_id, collection_id, ordinal, text, content_sha256, char_start, char_end)
         SELECT u.id, u.doc, $1, 0, u.text, 'bench', 0, length(u.text)
           FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS u(id, doc, text)`,
        [coll.collectionId, chunkIds, docIds, texts],
      );
      if (coll.indexVersionId && batch[0]?.embedding) {
        await tx.query(
          `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding)
           SELECT u.id, $1, u.e::vector FROM unnest($2::uuid[], $3::text[]) AS u(id, e)`,
          [coll.indexVersionId, chunkIds, batch.map((d) => `[${(d.embedding ?? []).map((x) => x.toFixed(6)).join(',')}]`)],
        );
      }
      await writePostings(tx, coll.collectionId, chunkIds.map((chunkId, i) => ({ chunkId, text: texts[i]! })), { analyzer: 'english' });
    });
    coll.chunkIds.push(...chunkIds);
  }
}

/** The per-version partial HNSW index, built after the load (much faster than growing it row by row). */
export async function buildHnsw(db: Db, coll: BulkCollection): Promise<void> {
  if (!coll.indexVersionId || !coll.dimensions) return;
  await db.exec(
    `CREATE INDEX chunk_vectors_hnsw_${coll.indexVersionId.replace(/-/g, '')} ON chunk_vectors USING hnsw ((embedding::vector(${coll.dimensions})) vector_cosine_ops) WHERE index_version_id = '${coll.indexVersionId}'`,
  );
}
