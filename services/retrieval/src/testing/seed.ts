import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { fakeEmbedding } from '@quire/fakes';
import { writePostings } from '@quire/keyword-index';
import { toVectorLiteral } from '../search/vector-search.js';

export const DIMENSIONS = 32;

export interface SeedDocument {
  title: string;
  metadata?: Record<string, unknown>;
  status?: 'ready' | 'processing';
  chunks: { text: string; page?: number; heading?: string[] }[];
}

export interface SeededCollection {
  collectionId: string;
  indexVersionId: string | null;
  documentIds: string[];
  /** chunk ids per document, in ordinal order */
  chunkIds: string[][];
}

/**
 * Writes a collection the way ingestion would: index version, documents, chunks, vectors from the
 * fake embedder, and the per-version partial HNSW index. `hnsw: 'exact'` writes what ingestion
 * writes for a version too small for a graph: every vector pending, no index.
 */
export async function seedCollection(
  db: Db,
  options: { teamId: string; name: string; embeddingModel: string | null; generationModel: string | null; withIndexVersion?: boolean; hnsw?: 'inline' | 'exact'; documents: SeedDocument[] },
): Promise<SeededCollection> {
  const exact = options.hnsw === 'exact';
  const collectionId = randomUUID();
  const withVersion = options.withIndexVersion ?? true;
  const indexVersionId = withVersion ? randomUUID() : null;
  const dims = options.embeddingModel ? DIMENSIONS : null;
  const documentIds: string[] = [];
  const chunkIds: string[][] = [];
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO collections (id, team_id, name, embedding_model, embedding_dimensions, generation_model, chunking, current_index_version_id)
VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, $7)`,
      [collectionId, options.teamId, options.name, options.embeddingModel, dims, options.generationModel, indexVersionId],
    );
    if (indexVersionId) {
      await tx.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status, hnsw_state) VALUES ($1, $2, $3, $4, 'ready', $5)`, [
        indexVersionId,
        collectionId,
        options.embeddingModel,
        dims,
        exact ? 'exact' : 'inline',
      ]);
    }
    for (const doc of options.documents) {
      const documentId = randomUUID();
      documentIds.push(documentId);
      await tx.query(
        `INSERT INTO documents (id, collection_id, team_id, title, mime_type, byte_size, content_sha256, metadata, status)
VALUES ($1, $2, $3, $4, 'text/plain', 1, 'sha', $5::jsonb, $6)`,
        [documentId, collectionId, options.teamId, doc.title, JSON.stringify(doc.metadata ?? {}), doc.status ?? 'ready'],
      );
      const ids: string[] = [];
      let offset = 0;
      for (const [ordinal, chunk] of doc.chunks.entries()) {
        const chunkId = randomUUID();
        ids.push(chunkId);
        await tx.query(
          `INSERT INTO chunks (id, document_id, collection_id, ordinal, text, content_sha256, page_start, page_end, heading_path, char_start, char_end)
VALUES ($1, $2, $3, $4, $5, 'sha', $6, $6, $7::text[], $8, $9)`,
          [chunkId, documentId, collectionId, ordinal, chunk.text, chunk.page ?? null, chunk.heading ?? [], offset, offset + chunk.text.length],
        );
        offset += chunk.text.length + 1;
        if (indexVersionId && dims) {
          await tx.query(`INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending) VALUES ($1, $2, $3::vector, $4)`, [
            chunkId,
            indexVersionId,
            toVectorLiteral(fakeEmbedding(chunk.text, dims)),
            exact,
          ]);
        }
      }
      chunkIds.push(ids);
      // Ingestion writes BM25 postings in the chunks' transaction; so does the seed.
      await writePostings(tx, collectionId, doc.chunks.map((c, i) => ({ chunkId: ids[i]!, text: c.text })), { analyzer: 'english' });
    }
    if (indexVersionId && dims && !exact) {
      await tx.query(
        `CREATE INDEX IF NOT EXISTS chunk_vectors_hnsw_${indexVersionId.replace(/-/g, '')} ON chunk_vectors USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE index_version_id = '${indexVersionId}'`,
      );
    }
  });
  return { collectionId, indexVersionId, documentIds, chunkIds };
}

export const HARBOUR_GUIDE: SeedDocument = {
  title: 'Harbour Guide',
  metadata: { lang: 'en', tags: ['ocean', 'guide'] },
  chunks: [
    { text: 'The harbour opens at dawn for fishing boats and ferries.', page: 1 },
    { text: 'Ferries to the islands leave from pier four in summer.', page: 2 },
    { text: 'High tide at Port Zephyr arrives at 5pm every Tuesday. Low water follows six hours later.', page: 3, heading: ['Tides', 'Port Zephyr'] },
    { text: 'Mooring fees are paid at the harbour office before noon.', page: 4 },
    { text: 'The lighthouse museum is closed on Mondays.', page: 5 },
    { text: 'Storm warnings are posted on the harbour noticeboard.', page: 6 },
  ],
};

export const GARDEN_NOTES: SeedDocument = {
  title: 'Garden Notes',
  metadata: { lang: 'fr', tags: ['garden'] },
  chunks: [
    { text: 'Tomatoes need full sun and regular watering.', page: 1 },
    { text: 'Prune roses in late winter before new growth.', page: 1 },
    { text: 'Compost improves clay soil structure.', page: 2 },
    { text: 'Plant garlic cloves in autumn for a summer harvest.', page: 2 },
    { text: 'Slugs can be deterred with copper tape around beds.', page: 3 },
    { text: 'Mulch keeps moisture in the soil during dry spells.', page: 3 },
  ],
};

export const DRAFT: SeedDocument = {
  title: 'Draft',
  status: 'processing',
  chunks: [{ text: 'High tide at Port Zephyr: unfinished draft, never searchable.', page: 1 }],
};
