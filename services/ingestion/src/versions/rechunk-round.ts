import { lockCollectionForIndexWrite, lockVersionWrites } from '@quire/index-versions';
import type { Db } from '@quire/db';
import type { Chunking } from '@quire/contracts';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { embeddingInput } from '../embed/embedding-input.js';
import { forgetUnusedEmbeddings, releaseEmbeddingUses } from '../embed/embedding-cache.js';
import { insertChunks, writeVectors, type GraphWritePolicy } from '../index/index-chunks.js';
import type { ParsePool } from '../parse/parse-pool.js';
import { TooManyChunksError } from '../parse/too-many-chunks-error.js';
import { fromBase64 } from '../repo/blob-transfer.js';
import { BuildLeaseLostError } from './build-lease.js';

export interface RechunkDeps {
  db: Db;
  parsePool: ParsePool;
  maxChunks: number;
  graph?: GraphWritePolicy;
}

export interface RechunkRoundInput {
  collectionId: string;
  versionId: string;
  /** The builder holding the version's lease: a round whose lease passed to another writes nothing. */
  holder: string;
  chunking: Chunking;
  /**
   * Embeds one document's chunks for the version (the builder's call, with cache and limiter): their
   * embedding inputs and keys, and the document, whose uses of the texts are recorded
   * (embed/embedding-cache.ts: its chunks in the version's set do not exist yet).
   */
  embed: (texts: string[], hashes: string[], documentId: string) => Promise<{ vectors: number[][]; dimensions: number }>;
  documents: number;
}

/**
 * Ready documents without a chunk in the version's own set. A document whose active chunking gave
 * no chunks has no text to re-chunk, so it is never pending (and cannot keep a build running).
 */
export async function pendingRechunk(db: Db, collectionId: string, versionId: string, limit: number) {
  const r = await db.query<{ id: string; version: number; mime_type: string; team_id: string; bytes: string }>(
    `SELECT d.id, d.version, d.mime_type, d.team_id, encode(b.bytes, 'base64') AS bytes FROM documents d JOIN document_blobs b ON b.document_id = d.id
      WHERE d.collection_id = $1 AND d.status = 'ready' AND d.replaces_document_id IS NULL AND COALESCE(d.chunks_total, 0) > 0
        AND NOT EXISTS (SELECT 1 FROM chunks ch WHERE ch.document_id = d.id AND ch.index_version_id = $2)
      ORDER BY d.id LIMIT $3`,
    [collectionId, versionId, limit],
  );
  return r.rows.map((row) => ({ ...row, bytes: fromBase64(row.bytes) }));
}

/**
 * One round of a build that changes chunking: re-parses a few documents from their stored bytes,
 * chunks them with the version's settings into the version's own chunk set (the active set is not
 * touched, so search keeps answering from it) and embeds them. A document changed meanwhile
 * (version bump: replaced, re-ingested, deleted) is skipped and comes back in a later round.
 * Returns how many documents were pending (0 = the version's chunk set is complete).
 */
export async function rechunkRound(deps: RechunkDeps, input: RechunkRoundInput): Promise<number> {
  const docs = await pendingRechunk(deps.db, input.collectionId, input.versionId, input.documents);
  for (const doc of docs) {
    // Parsed and chunked in a parse worker, under the same deadlines and heap limit as an upload, and
    // in the turns of the collection's team (a document's team is its collection's owner): a large
    // re-chunk shares the workers with other teams' uploads instead of holding them all.
    const chunks = await deps.parsePool
      .parseAndChunk(doc.bytes, doc.mime_type, input.chunking, { tenant: doc.team_id, maxChunks: deps.maxChunks })
      .then((parsed) => parsed.chunks)
      .catch((error: unknown) => {
        if (!(error instanceof TooManyChunksError)) throw error;
        throw new EmbeddingValidationError('embedding_invalid', `Document ${doc.id} gives ${error.count} chunks with the new chunking; the limit is ${error.limit}.`);
      });
    const embedded = await input.embed(chunks.map(embeddingInput), chunks.map((c) => c.contentSha256), doc.id);
    await deps.db.transaction(async (tx) => {
      // The lock order of @quire/index-versions collection-locks.ts: collection, document, version.
      if (!(await lockCollectionForIndexWrite(tx, input.collectionId))) return;
      const live = await tx.query<{ version: number; status: string }>(`SELECT version, status FROM documents WHERE id = $1 FOR UPDATE`, [doc.id]);
      const row = live.rows[0];
      if (!row || row.version !== doc.version || row.status !== 'ready') return;
      await lockVersionWrites(tx, input.versionId);
      const building = await tx.query<{ build_holder: string | null }>(`SELECT build_holder FROM index_versions WHERE id = $1 AND status = 'building' FOR UPDATE`, [input.versionId]);
      if (building.rows.length === 0) return;
      if (building.rows[0]!.build_holder !== input.holder) throw new BuildLeaseLostError(`The lease on index version ${input.versionId} passed to another builder.`);
      await tx.query(`DELETE FROM chunks WHERE document_id = $1 AND index_version_id = $2`, [doc.id, input.versionId]);
      const ids = await insertChunks(tx, doc.id, input.collectionId, chunks, input.versionId);
      if (ids.length > 0) await writeVectors(tx, ids, { indexVersionId: input.versionId, dimensions: embedded.dimensions, values: embedded.vectors }, deps.graph);
      // The version's chunks hold the text now; what the document's uses named besides goes if unused.
      await forgetUnusedEmbeddings(tx, { hashes: await releaseEmbeddingUses(tx, [doc.id]) });
      await tx.query(
        `UPDATE index_versions SET updated_at = now(),
                chunks_total = (SELECT count(*)::int FROM chunks WHERE index_version_id = $1),
                chunks_embedded = (SELECT count(*)::int FROM chunk_vectors WHERE index_version_id = $1)
          WHERE id = $1`,
        [input.versionId],
      );
    });
  }
  return docs.length;
}
