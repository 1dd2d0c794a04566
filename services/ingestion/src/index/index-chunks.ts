import type { Db, Queryable } from '@quire/db';
import type { ChunkDraft } from '../chunk/chunk-text.js';
import { countPendingVectors, graphThreshold, lockCollectionForIndexWrite, lockVersionWrites, recordDocumentChange, type HnswState } from '@quire/index-versions';
import { redactQueriesOfDocuments } from '@quire/stored-queries';
import { writePostings } from '@quire/keyword-index';
import { EmbeddingValidationError, vectorLiterals } from '../embed/embed-chunks.js';
import { forgetUnusedEmbeddings, releaseEmbeddingUses } from '../embed/embedding-cache.js';
import { ensureHnswIndex } from './hnsw-index.js';
import { accessGroupsSql } from '../repo/access-sql.js';
import { newerReplacement, settleReplacements, supersedeReplacements } from '../repo/replacements-repo.js';

export interface VersionVectors {
  indexVersionId: string;
  dimensions: number;
  values: number[][];
  /**
   * Where `embedChunks` left the same vectors in `embedding_cache` (team, model, requested dimension,
   * and each chunk's embedding-input hash): the insert copies them there instead of sending and parsing
   * each vector's text a second time (about 0.3 ms a vector in PGlite).
   */
  cached?: { model: string; requestedDimensions: number; teamId: string; hashes: string[] };
}

/** How many vectors of a graphed version may wait outside its graph (see `IngestionLimits.hnswMaxPending`). */
export interface GraphWritePolicy {
  maxPending: number;
}
export const DEFAULT_GRAPH_WRITE_POLICY: GraphWritePolicy = { maxPending: 20_000 };

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
  /** The collection's version when the job read its chunking: a switch meanwhile means re-chunking. */
  expectedIndexVersionId?: string;
  graph?: GraphWritePolicy;
}

export type IndexOutcome = 'indexed' | 'superseded';

export class IndexVersionChangedError extends Error {
  override name = 'IndexVersionChangedError';
}

export { vectorLiterals } from '../embed/embed-chunks.js';

/**
 * Takes the version's lock, fixes its dimension on first use and says where its new vectors go:
 * pending (outside the graph, searched exactly until the background task moves them in) for an
 * `exact` version and for a `graph` version whose pending tail is below the cap; into the graph as
 * they are written for an `inline` version and past the cap.
 */
export async function prepareVersionWrite(tx: Queryable, indexVersionId: string, dimensions: number, policy: GraphWritePolicy = DEFAULT_GRAPH_WRITE_POLICY): Promise<{ pending: boolean }> {
  await lockVersionWrites(tx, indexVersionId);
  const fixed = await tx.query<{ dimensions: number | null; hnsw_state: HnswState }>(
    `UPDATE index_versions SET dimensions = COALESCE(dimensions, $2) WHERE id = $1 RETURNING dimensions, hnsw_state`,
    [indexVersionId, dimensions],
  );
  const row = fixed.rows[0];
  if (!row || Number(row.dimensions) !== dimensions) {
    throw new EmbeddingValidationError('dimension_mismatch', `The index version holds ${row?.dimensions}-dimensional vectors; this document has ${dimensions}.`);
  }
  if (row.hnsw_state === 'inline') {
    await ensureHnswIndex(tx, indexVersionId, dimensions);
    return { pending: false };
  }
  if (row.hnsw_state === 'exact') return { pending: true };
  const cap = graphThreshold(policy.maxPending, dimensions);
  return { pending: (await countPendingVectors(tx, indexVersionId, cap)) < cap };
}

/**
 * Inserts one index version's vectors for the given chunk ids (in the same order as the values), in
 * one statement: copied from the embedding cache when they are there, sent as text otherwise.
 */
export async function writeVectors(tx: Queryable, chunkIds: string[], v: VersionVectors, policy?: GraphWritePolicy): Promise<void> {
  const { pending } = await prepareVersionWrite(tx, v.indexVersionId, v.dimensions, policy);
  const upsert = `ON CONFLICT (index_version_id, chunk_id) DO UPDATE SET embedding = EXCLUDED.embedding, graph_pending = EXCLUDED.graph_pending`;
  if (v.cached && v.cached.hashes.length === chunkIds.length) {
    // One primary-key lookup per chunk. As a plain join, with no statistics (PGlite has no
    // autovacuum) the planner walked every cached vector of the model once per chunk: 0.3 ms a chunk
    // at 1,700 cached vectors and growing with the cache. LIMIT 1 keeps the subquery a lookup.
    const copied = await tx.query(
      `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending)
       SELECT u.id, $1, ec.embedding, $2 FROM unnest($3::uuid[], $4::text[]) AS u(id, sha)
         CROSS JOIN LATERAL (
           SELECT c.embedding FROM embedding_cache c
            WHERE c.content_sha256 = u.sha AND c.embedding_model = $5 AND c.requested_dimensions = $6 AND c.team_id = $8 LIMIT 1
         ) ec
        WHERE vector_dims(ec.embedding) = $7
       ${upsert}`,
      [v.indexVersionId, pending, chunkIds, v.cached.hashes, v.cached.model, v.cached.requestedDimensions, v.dimensions, v.cached.teamId],
    );
    // A cache row gone meanwhile (a delete of the same text took it: embed/embedding-cache.ts) falls
    // back to sending every vector.
    if (copied.rowCount === chunkIds.length) return;
  }
  await tx.query(
    `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending)
     SELECT u.id, $1, u.embedding::vector, $2 FROM unnest($3::uuid[], $4::text[]) AS u(id, embedding)
     ${upsert}`,
    [v.indexVersionId, pending, chunkIds, vectorLiterals(v.values)],
  );
}

/**
 * Inserts chunks in one statement and returns their ids in input order. `indexVersionId` null is the
 * active chunk set; an id writes that version's own set (a build that re-chunks).
 */
export async function insertChunks(tx: Queryable, documentId: string, collectionId: string, c: ChunkDraft[], indexVersionId: string | null): Promise<string[]> {
  if (c.length === 0) return [];
  // heading_path is text[] per row, and unnest would flatten a 2-D array, so each travels as JSON.
  const r = await tx.query<{ id: string; ordinal: number }>(
    `INSERT INTO chunks (document_id, collection_id, index_version_id, ordinal, text, content_sha256, page_start, page_end, heading_path, char_start, char_end, context, marks)
     SELECT $1, $2, $11::uuid, u.ordinal, u.text, u.sha, u.page_start, u.page_end,
            ARRAY(SELECT jsonb_array_elements_text(u.heading_path::jsonb)), u.char_start, u.char_end, u.context, u.marks::jsonb
       FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[], $10::int[], $12::text[], $13::text[])
         AS u(ordinal, text, sha, page_start, page_end, heading_path, char_start, char_end, context, marks)
     RETURNING id, ordinal`,
    [
      documentId,
      collectionId,
      c.map((x) => x.ordinal),
      c.map((x) => x.text),
      c.map((x) => x.contentSha256),
      c.map((x) => x.pageStart),
      c.map((x) => x.pageEnd),
      c.map((x) => (x.headingPath.length === 0 ? '[]' : JSON.stringify(x.headingPath))),
      c.map((x) => x.charStart),
      c.map((x) => x.charEnd),
      indexVersionId,
      c.map((x) => x.context ?? null),
      c.map((x) => (x.sections ? JSON.stringify(x.sections) : null)),
    ],
  );
  const byOrdinal = new Map(r.rows.map((row) => [Number(row.ordinal), row.id]));
  return c.map((x) => byOrdinal.get(x.ordinal)!);
}

/**
 * Replaces the document's chunks and vectors and marks it ready, all in one transaction, so search
 * sees the old chunks or the new ones, never a mix or nothing. The row lock plus the version and
 * status checks make a late or duplicate job a no-op: it can neither bring back a deleted document
 * nor write a second set of chunks. A replacement upload writes onto the document it replaces,
 * then stays as a `ready` pointer to it; one that a newer replacement of the same document followed
 * (superseded, or not marked so yet) never swaps: it is marked superseded instead.
 */
export async function indexChunks(db: Db, input: IndexChunksInput): Promise<IndexOutcome> {
  return db.transaction(async (tx) => {
    // The collection first, shared with other writers (@quire/index-versions collection-locks.ts): an
    // activation waits for this transaction, so it counts the chunks written here, and the version read
    // here stays current until commit.
    const collection = await lockCollectionForIndexWrite(tx, input.collectionId);
    if (!collection) return 'superseded';
    // A replacement locks the document it replaces before its own row, the order an upload that
    // supersedes it takes (repo/replacements-repo.ts): the two serialise instead of deadlocking, and
    // this swap sees every replacement accepted before it.
    const own = await tx.query<{ replaces_document_id: string | null; team_id: string; submitted_identity: { team_id: string; key_id: string } | null; trace_id: string | null }>(
      `SELECT replaces_document_id, team_id, submitted_identity, trace_id FROM documents WHERE id = $1`,
      [input.documentId],
    );
    const replaces = own.rows[0]?.replaces_document_id ?? null;
    if (replaces) {
      const target = await tx.query(`SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, [replaces]);
      if (target.rows.length === 0) return 'superseded';
    }
    const current = await tx.query<{ version: number; status: string; replaces_document_id: string | null }>(
      `SELECT version, status, replaces_document_id FROM documents WHERE id = $1 AND collection_id = $2 FOR UPDATE`,
      [input.documentId, input.collectionId],
    );
    const doc = current.rows[0];
    if (!doc || doc.version !== input.version || doc.status !== 'processing') return 'superseded';
    const expected = input.expectedIndexVersionId ?? input.vectors?.indexVersionId;
    if (expected && expected !== collection.currentIndexVersionId) {
      throw new IndexVersionChangedError('The collection switched index versions while this document was embedding.');
    }
    // Chunks belong to the document being replaced when this row is a replacement upload.
    const targetId = doc.replaces_document_id ?? input.documentId;
    if (doc.replaces_document_id) {
      // The latest accepted replacement wins, whichever finishes last: this check, under the target's
      // lock, is what guarantees it (marking older ones superseded at upload only stops their work early).
      const newer = await newerReplacement(tx, targetId, input.documentId);
      if (newer) {
        await supersedeReplacements(tx, targetId, newer, [input.documentId]);
        return 'superseded';
      }
    }

    // Every chunk set of the document goes: a build that re-chunks picks the document up again.
    // What went says which cached vectors may go too, and how many chunks the audit row says were replaced.
    const old = await tx.query<{ index_version_id: string | null; content_sha256: string }>(`DELETE FROM chunks WHERE document_id = $1 RETURNING index_version_id, content_sha256`, [targetId]);
    const c = input.chunks;
    // Ids come back from the insert, so nothing is read again: postings and vectors key on them.
    const ids = await insertChunks(tx, targetId, input.collectionId, c, null);

    // BM25 postings and statistics commit (or roll back) with the chunks they index. They index the
    // text alone, not the context: a table's header words would otherwise count once per chunk of
    // the table (as often as the chunker happened to cut it), so a column name would match every
    // piece of the table alike and weigh less everywhere else.
    await writePostings(tx, input.collectionId, c.map((x, i) => ({ chunkId: ids[i]!, text: x.text })), { analyzer: collection.analyzer });
    if (input.vectors && c.length > 0) await writeVectors(tx, ids, input.vectors, input.graph);
    for (const v of input.buildingVectors ?? []) {
      // A build deleted or failed meanwhile is skipped; one still building gets this document too.
      const live = await tx.query(`SELECT 1 FROM index_versions WHERE id = $1 AND status IN ('building', 'ready')`, [v.indexVersionId]);
      if (live.rows.length > 0 && c.length > 0) await writeVectors(tx, ids, v, input.graph);
    }
    // After the copies above, which read the cache: the uses this row's jobs recorded (and any the
    // target's had, such as a re-chunking build's) end, its chunks now hold what it still uses.
    const released = await releaseEmbeddingUses(tx, [input.documentId, targetId]);

    const embedded = input.vectors ? c.length : 0;
    if (doc.replaces_document_id) {
      // The replaced document takes the new bytes and description; its version bump fences any job
      // still running for its old content.
      await tx.query(
        `UPDATE documents t
            SET title = COALESCE(r.title, t.title), filename = r.filename, mime_type = r.mime_type, byte_size = r.byte_size,
                content_sha256 = r.content_sha256, metadata = t.metadata || r.metadata,
                -- Who may read it follows the merged metadata: a new version that restricts access must take effect with it.
                access_groups = ${accessGroupsSql('(t.metadata || r.metadata)')},
                pages_parsed = r.pages_parsed,
                pages_total = r.pages_total, warnings = r.warnings, scanned_pages = r.scanned_pages, version = t.version + 1,
                status = 'ready', stage = 'done', chunks_total = $3, chunks_embedded = $4, error_code = NULL,
                error_message = NULL, error_stage = NULL, error_limit = NULL, stall_reason = NULL, heartbeat_at = now(), updated_at = now()
           FROM documents r WHERE t.id = $1 AND r.id = $2`,
        [targetId, input.documentId, c.length, embedded],
      );
      await tx.query(
        `UPDATE document_blobs t SET sha256 = r.sha256, bytes = r.bytes FROM document_blobs r WHERE t.document_id = $1 AND r.document_id = $2`,
        [targetId, input.documentId],
      );
      released.push(...(await settleReplacements(tx, targetId, input.documentId)));
      await redactQueriesOfDocuments(tx, [targetId]); // stored answers and quotes of the old version go with it
    }
    // The vectors of text the document no longer holds (a replaced version's text leaves like a
    // deleted one's) or its jobs cached for nothing (chunked another way by an earlier attempt; of
    // failed replacements settled above), where no other chunk or live document of their team holds it.
    // Text the new chunks hold is in use by definition: on a first ingest that is all of it, so the
    // check runs only for what the document stopped holding.
    const held = new Set(c.map((x) => x.contentSha256));
    await forgetUnusedEmbeddings(tx, { hashes: [...old.rows.map((r) => r.content_sha256), ...released].filter((h) => !held.has(h)) });
    // A replacement row stays, `ready`, as a pointer to the document that now holds its content.
    await tx.query(
      `UPDATE documents
          SET status = 'ready', stage = 'done', chunks_total = $2, chunks_embedded = $3, stall_reason = NULL,
              error_code = NULL, error_message = NULL, error_stage = NULL, error_limit = NULL, heartbeat_at = now(), updated_at = now()
        WHERE id = $1`,
      [input.documentId, c.length, embedded],
    );
    if (doc.replaces_document_id) {
      // Last (collection-audit.ts says why). Who replaced it: the replacement upload's submitter and request.
      const by = own.rows[0]!;
      await recordDocumentChange(tx, { team_id: by.submitted_identity?.team_id ?? by.team_id, key_id: by.submitted_identity?.key_id ?? 'unknown', requestId: by.trace_id }, {
        action: 'document.replace',
        documentId: targetId,
        collectionId: input.collectionId,
        ownerTeamId: by.team_id,
        details: { replacement_id: input.documentId, chunks_before: old.rows.filter((r) => r.index_version_id === null).length, chunks_after: c.length },
      });
    }
    return 'indexed';
  });
}
