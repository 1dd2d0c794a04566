import type { Db } from '@quire/db';
import type { ChunkDraft } from '../chunk/chunk-text.js';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { ensureHnswIndex } from './hnsw-index.js';

export interface IndexChunksInput {
  documentId: string;
  collectionId: string;
  version: number;
  chunks: ChunkDraft[];
  /** Absent for keyword-only collections. */
  vectors?: { indexVersionId: string; dimensions: number; values: number[][] };
}

export type IndexOutcome = 'indexed' | 'superseded';

export class IndexVersionChangedError extends Error {
  override name = 'IndexVersionChangedError';
}

/**
 * Replaces the document's chunks and vectors and marks it ready, all in one transaction. The row
 * lock plus the version and status checks make a late or duplicate job a no-op: it can neither
 * bring back a deleted document nor write a second set of chunks.
 */
export async function indexChunks(db: Db, input: IndexChunksInput): Promise<IndexOutcome> {
  return db.transaction(async (tx) => {
    const current = await tx.query<{ version: number; status: string; current_index_version_id: string | null }>(
      `SELECT d.version, d.status, c.current_index_version_id
         FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1 FOR UPDATE OF d`,
      [input.documentId],
    );
    const doc = current.rows[0];
    if (!doc || doc.version !== input.version || doc.status !== 'processing') return 'superseded';
    if (input.vectors && input.vectors.indexVersionId !== doc.current_index_version_id) {
      throw new IndexVersionChangedError('The collection switched index versions while this document was embedding.');
    }

    await tx.query(`DELETE FROM chunks WHERE document_id = $1`, [input.documentId]);
    const c = input.chunks;
    if (c.length > 0) {
      // heading_path is text[] per row, and unnest would flatten a 2-D array, so each travels as JSON.
      await tx.query(
        `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, page_start, page_end, heading_path, char_start, char_end)
         SELECT $1, $2, u.ordinal, u.text, u.sha, u.page_start, u.page_end,
                ARRAY(SELECT jsonb_array_elements_text(u.heading_path::jsonb)), u.char_start, u.char_end
           FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[], $10::int[])
             AS u(ordinal, text, sha, page_start, page_end, heading_path, char_start, char_end)`,
        [
          input.documentId,
          input.collectionId,
          c.map((x) => x.ordinal),
          c.map((x) => x.text),
          c.map((x) => x.contentSha256),
          c.map((x) => x.pageStart),
          c.map((x) => x.pageEnd),
          c.map((x) => JSON.stringify(x.headingPath)),
          c.map((x) => x.charStart),
          c.map((x) => x.charEnd),
        ],
      );
    }

    const v = input.vectors;
    if (v && c.length > 0) {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [v.indexVersionId]);
      const fixed = await tx.query<{ dimensions: number | null }>(
        `UPDATE index_versions SET dimensions = COALESCE(dimensions, $2) WHERE id = $1 RETURNING dimensions`,
        [v.indexVersionId, v.dimensions],
      );
      const dimensions = fixed.rows[0]?.dimensions;
      if (dimensions !== v.dimensions) {
        throw new EmbeddingValidationError('dimension_mismatch', `The index version holds ${dimensions}-dimensional vectors; this document has ${v.dimensions}.`);
      }
      await tx.query(
        `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding)
         SELECT ch.id, $2, u.embedding::vector
           FROM unnest($3::int[], $4::text[]) AS u(ordinal, embedding)
           JOIN chunks ch ON ch.document_id = $1 AND ch.ordinal = u.ordinal`,
        [input.documentId, v.indexVersionId, c.map((x) => x.ordinal), v.values.map((x) => `[${x.join(',')}]`)],
      );
      await ensureHnswIndex(tx, v.indexVersionId, v.dimensions);
    }

    await tx.query(
      `UPDATE documents
          SET status = 'ready', stage = 'done', chunks_total = $2, chunks_embedded = $3,
              error_code = NULL, error_message = NULL, error_stage = NULL, heartbeat_at = now(), updated_at = now()
        WHERE id = $1`,
      [input.documentId, c.length, v ? c.length : 0],
    );
    return 'indexed';
  });
}
