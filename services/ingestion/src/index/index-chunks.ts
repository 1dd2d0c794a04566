import type { Db, Queryable } from '@quire/db';
import type { ChunkDraft } from '../chunk/chunk-text.js';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { ensureHnswIndex } from './hnsw-index.js';
import { writeDocumentPostings } from '@quire/keyword-index';

export interface VersionVectors {
  indexVersionId: string;
  dimensions: number;
  values: number[][];
}

export interface IndexChunksInput {
  /** The row this job processes (a replacement upload is its own row). */
  documentId: string;
  collectionId: string;
  version: number;
  chunks: ChunkDraft[];
  /** Absent for keyword-only collections. */
  vectors?: VersionVectors;
  /** Vectors for index versions being built at the same time (an embedding-model swap). */
  buildingVectors?: VersionVectors[];
}

export type IndexOutcome = 'indexed' | 'superseded';

export class IndexVersionChangedError extends Error {
  override name = 'IndexVersionChangedError';
}

/** Inserts one index version's vectors for the document's chunks (matched by ordinal). */
export async function writeVectors(tx: Queryable, documentId: string, ordinals: number[], v: VersionVectors): Promise<void> {
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
       JOIN chunks ch ON ch.document_id = $1 AND ch.ordinal = u.ordinal
     ON CONFLICT (index_version_id, chunk_id) DO UPDATE SET embedding = EXCLUDED.embedding`,
    [documentId, v.indexVersionId, ordinals, v.values.map((x) => `[${x.join(',')}]`)],
  );
  await ensureHnswIndex(tx, v.indexVersionId, v.dimensions);
}

/**
 * Replaces the document's chunks and vectors and marks it ready, all in one transaction, so search
 * sees the old chunks or the new ones, never a mix or nothing. The row lock plus the version and
 * status checks make a late or duplicate job a no-op: it can neither bring back a deleted document
 * nor write a second set of chunks. A replacement upload writes onto the document it replaces,
 * then removes its own row.
 */
export async function indexChunks(db: Db, input: IndexChunksInput): Promise<IndexOutcome> {
  return db.transaction(async (tx) => {
    const current = await tx.query<{ version: number; status: string; current_index_version_id: string | null; replaces_document_id: string | null }>(
      `SELECT d.version, d.status, c.current_index_version_id, d.replaces_document_id
         FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1 FOR UPDATE OF d`,
      [input.documentId],
    );
    const doc = current.rows[0];
    if (!doc || doc.version !== input.version || doc.status !== 'processing') return 'superseded';
    if (input.vectors && input.vectors.indexVersionId !== doc.current_index_version_id) {
      throw new IndexVersionChangedError('The collection switched index versions while this document was embedding.');
    }
    // Chunks belong to the document being replaced when this row is a replacement upload.
    const targetId = doc.replaces_document_id ?? input.documentId;
    if (doc.replaces_document_id) {
      const target = await tx.query(`SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, [targetId]);
      if (target.rows.length === 0) return 'superseded';
    }

    await tx.query(`DELETE FROM chunks WHERE document_id = $1`, [targetId]);
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
          targetId,
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

    // BM25 postings and statistics commit (or roll back) with the chunks they index.
    await writeDocumentPostings(tx, input.collectionId, targetId);
    const ordinals = c.map((x) => x.ordinal);
    if (input.vectors && c.length > 0) await writeVectors(tx, targetId, ordinals, input.vectors);
    for (const v of input.buildingVectors ?? []) {
      // A build deleted or failed meanwhile is skipped; one still building gets this document too.
      const live = await tx.query(`SELECT 1 FROM index_versions WHERE id = $1 AND status IN ('building', 'ready')`, [v.indexVersionId]);
      if (live.rows.length > 0 && c.length > 0) await writeVectors(tx, targetId, ordinals, v);
    }

    const embedded = input.vectors ? c.length : 0;
    if (doc.replaces_document_id) {
      // The replaced document takes the new bytes and description; its version bump fences any job
      // still running for its old content.
      await tx.query(
        `UPDATE documents t
            SET title = COALESCE(r.title, t.title), filename = r.filename, mime_type = r.mime_type, byte_size = r.byte_size,
                content_sha256 = r.content_sha256, metadata = t.metadata || r.metadata, pages_parsed = r.pages_parsed,
                pages_total = r.pages_total, warnings = r.warnings, scanned_pages = r.scanned_pages, version = t.version + 1,
                status = 'ready', stage = 'done', chunks_total = $3, chunks_embedded = $4, error_code = NULL,
                error_message = NULL, error_stage = NULL, stall_reason = NULL, heartbeat_at = now(), updated_at = now()
           FROM documents r WHERE t.id = $1 AND r.id = $2`,
        [targetId, input.documentId, c.length, embedded],
      );
      await tx.query(
        `UPDATE document_blobs t SET sha256 = r.sha256, bytes = r.bytes FROM document_blobs r WHERE t.document_id = $1 AND r.document_id = $2`,
        [targetId, input.documentId],
      );
      await tx.query(`DELETE FROM documents WHERE id = $1`, [input.documentId]);
    } else {
      await tx.query(
        `UPDATE documents
            SET status = 'ready', stage = 'done', chunks_total = $2, chunks_embedded = $3, stall_reason = NULL,
                error_code = NULL, error_message = NULL, error_stage = NULL, heartbeat_at = now(), updated_at = now()
          WHERE id = $1`,
        [input.documentId, c.length, embedded],
      );
    }
    return 'indexed';
  });
}
