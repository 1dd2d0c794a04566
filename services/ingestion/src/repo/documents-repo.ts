import { type DocumentStage, type DocumentView, type Identity, type ListDocumentsQuery, type Metadata, type UpdateDocumentBody } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import { changedFields, lockCollectionForIndexWrite, recordDocumentChange, type CollectionActor } from '@quire/index-versions';
import { redactQueriesOfDocuments } from '@quire/stored-queries';
import { AppError } from '@quire/server-kit';
import { isoString, isUuid, likeSubstring, toNullableNumber, toNumber } from './sql-values.js';
import { accessGroupsSql, collectionReachSql, documentVisibleSql, viewerParams, type Viewer } from './access-sql.js';
import { toBase64 } from './blob-transfer.js';
import { forgetUnusedEmbeddings, releaseEmbeddingUses } from '../embed/embedding-cache.js';
import { latestReplacementsSql, replacementStateSql, SUPERSEDED_CODE, toReplacementState, type ReplacementState } from './replacements-repo.js';
import { decodeCursor, encodeCursor, filterKey } from './list-cursor.js';
import { documentError, type LimitsInForce } from './failure-advice.js';

/** A `documents` row as DOCUMENT_COLUMNS selects it (`d`), for toDocumentView. */
export interface DocumentRow {
  id: string;
  collection_id: string;
  title: string | null;
  filename: string | null;
  mime_type: string;
  byte_size: unknown;
  content_sha256: string;
  metadata: Metadata;
  status: DocumentView['status'];
  stage: DocumentStage;
  pages_parsed: number | null;
  pages_total: number | null;
  chunks_total: number | null;
  chunks_embedded: number;
  /** Whether the collection's current index version embeds (it has an embedding model). */
  embeds: boolean;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  error_stage: string | null;
  error_limit: unknown;
  job_id: string | null;
  created_at: unknown;
  updated_at: unknown;
  stall_reason: string | null;
  warnings: unknown;
  scanned_pages: number[] | null;
  eta_seconds: number | null;
  replaces_document_id: string | null;
  /** Only where the query selects it (GET and lists of documents). */
  replacement?: unknown;
}

/** The columns of `documents d` that toDocumentView reads. */
export const DOCUMENT_COLUMNS = `d.id, d.collection_id, d.title, d.filename, d.mime_type, d.byte_size, d.content_sha256, d.metadata, d.status,
  d.stage, d.pages_parsed, d.pages_total, d.chunks_total, d.chunks_embedded, d.attempts, d.error_code, d.error_message,
  d.error_stage, d.error_limit, d.job_id, d.created_at, d.updated_at, d.stall_reason, d.warnings, d.scanned_pages, d.replaces_document_id,
  -- The provider's rate only: chunks from the embedding cache (chunks_cached) arrive at once and say
  -- nothing of how fast the rest goes, so no estimate until a provider call has returned.
  CASE WHEN d.status = 'processing' AND d.stage = 'embedding' AND d.chunks_embedded > d.chunks_cached AND d.chunks_total > d.chunks_embedded
            AND d.embed_started_at IS NOT NULL
       THEN ceil(extract(epoch FROM (now() - d.embed_started_at)) * (d.chunks_total - d.chunks_embedded) / (d.chunks_embedded - d.chunks_cached))::int
  END AS eta_seconds,
  -- A keyword-only collection (no embedding model) never embeds: see DocumentProgressSchema.
  (SELECT ce.embedding_model IS NOT NULL FROM collections ce WHERE ce.id = d.collection_id) AS embeds`;

/** The contract's document view plus ingestion's extensions (ETA, stall reason, parse warnings). */
export type IngestionDocumentView = DocumentView & {
  progress: DocumentView['progress'] & { eta_seconds: number | null; stalled: string | null; scanned_pages: number[] };
  warnings: string[];
  replaces_document_id: string | null;
  /**
   * A replacement row only: the document its content is for, and (once it is `ready`) the one that
   * now holds it. Present on every replacement row, so a client never has to guess where content went.
   */
  document_id?: string;
  /** A document only (GET and lists): its latest replacement not swapped in yet, or failed; null when none. */
  replacement?: ReplacementState | null;
  duplicate?: boolean;
  /** An upload's duplicate only: whether the upload ran the failed document it matched again (see acceptUpload). */
  retried?: boolean;
};

/**
 * `limits`: the limits in force, which decide whether a failure under one can be retried now (see
 * failure-advice.ts); left out only for rows that cannot be failed (just inserted or requeued).
 */
export function toDocumentView(row: DocumentRow, limits?: LimitsInForce): IngestionDocumentView {
  return {
    id: row.id,
    collection_id: row.collection_id,
    title: row.title,
    filename: row.filename,
    mime_type: row.mime_type,
    byte_size: toNumber(row.byte_size),
    content_sha256: row.content_sha256,
    metadata: row.metadata ?? {},
    status: row.status,
    progress: {
      stage: row.stage,
      pages_parsed: toNullableNumber(row.pages_parsed),
      pages_total: toNullableNumber(row.pages_total),
      chunks_total: toNullableNumber(row.chunks_total),
      // Not applicable without vectors: 0, whatever an earlier index version with a model left stored.
      chunks_embedded: row.embeds === false ? 0 : toNumber(row.chunks_embedded),
      embedding: row.embeds === false ? 'none' : 'vectors',
      attempts: toNumber(row.attempts),
      eta_seconds: toNullableNumber(row.eta_seconds),
      stalled: row.stall_reason ?? null,
      scanned_pages: (row.scanned_pages ?? []).map(toNumber),
    },
    warnings: Array.isArray(row.warnings) ? (row.warnings as string[]) : [],
    replaces_document_id: row.replaces_document_id ?? null,
    ...(row.replaces_document_id ? { document_id: row.replaces_document_id } : {}),
    ...(row.replacement !== undefined && !row.replaces_document_id ? { replacement: toReplacementState(row.replacement, row.id, limits) } : {}),
    error: row.status === 'failed' && row.error_code
      ? documentError({ id: row.id, documentId: row.replaces_document_id ?? row.id, code: row.error_code, message: row.error_message ?? '', stage: row.error_stage, limit: row.error_limit }, limits)
      : null,
    job_id: row.job_id,
    created_at: isoString(row.created_at),
    updated_at: isoString(row.updated_at),
  };
}

export interface NewDocument {
  collectionId: string;
  title: string | null;
  filename: string | null;
  mime: string;
  bytes: Uint8Array;
  sha256: string;
  metadata: Metadata;
  identity: Identity;
  traceId: string;
  replacesDocumentId?: string | null;
}

/**
 * Document row and original bytes together: once this commits, the upload survives any crash. The
 * collection row is locked (KEY SHARE) first: a collection deleted since the route checked it is a
 * 404 with nothing written, and a delete that comes later waits for this commit and then cascades.
 * A replacement row's created_at is its acceptance order among its target's replacements (strictly
 * increasing; the caller holds the target's lock, see replacements-repo.ts).
 */
export async function insertDocument(tx: Queryable, doc: NewDocument): Promise<IngestionDocumentView> {
  const owner = await tx.query<{ team_id: string }>(`SELECT team_id FROM collections WHERE id = $1 FOR KEY SHARE`, [doc.collectionId]);
  if (!owner.rows[0]) throw new AppError('collection_not_found', `No collection ${doc.collectionId}.`);
  const r = await tx.query<DocumentRow>(
    `INSERT INTO documents AS d (collection_id, team_id, title, filename, mime_type, byte_size, content_sha256, metadata, submitted_identity, trace_id, replaces_document_id, access_groups, created_at)
     -- team_id is the collection's owner, also when a team with a write grant uploads.
     VALUES ($1, $11, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10,
       -- Document-level access (governance).
       ${accessGroupsSql('$7::jsonb')},
       CASE WHEN $10::uuid IS NULL THEN now()
            ELSE GREATEST(clock_timestamp(), (SELECT max(p.created_at) + interval '1 microsecond' FROM documents p WHERE p.replaces_document_id = $10::uuid)) END)
     RETURNING ${DOCUMENT_COLUMNS}`,
    [doc.collectionId, doc.title, doc.filename, doc.mime, doc.bytes.length, doc.sha256, JSON.stringify(doc.metadata), JSON.stringify(doc.identity), doc.traceId, doc.replacesDocumentId ?? null, owner.rows[0].team_id],
  );
  const row = r.rows[0]!;
  await tx.query(`INSERT INTO document_blobs (document_id, sha256, bytes) VALUES ($1, $2, decode($3, 'base64'))`, [row.id, doc.sha256, toBase64(doc.bytes)]);
  return toDocumentView(row);
}

/**
 * A document the viewer may see (`read`) or change (`write`): its collection is the viewer's team's
 * or granted to it, and document-level access lets it through (access-sql.ts). Otherwise null, the
 * same as a missing id. `limits`: those in force, for a failure's advice (toDocumentView).
 */
export async function getDocument(
  db: Queryable,
  viewer: Viewer,
  id: string,
  options: { access?: 'read' | 'write'; limits: LimitsInForce },
): Promise<IngestionDocumentView | null> {
  const access = options.access ?? 'read';
  if (!isUuid(id)) return null;
  const r = await db.query<DocumentRow>(
    `SELECT ${DOCUMENT_COLUMNS}, ${replacementStateSql(documentVisibleSql('r', 'c.team_id', '$2', '$3', '$4'))} AS replacement
       FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.id = $1 AND ${collectionReachSql('c', '$2', access)} AND ${documentVisibleSql('d', 'c.team_id', '$2', '$3', '$4')}`,
    [id, ...viewerParams(viewer)],
  );
  return r.rows[0] ? toDocumentView(r.rows[0], options.limits) : null;
}

export interface DocumentPage {
  data: IngestionDocumentView[];
  next_cursor: string | null;
}

/** The list's filters (`ListDocumentsQuerySchema`); they combine. */
export type DocumentListFilters = Pick<ListDocumentsQuery, 'status' | 'replacement_status' | 'tag' | 'name'>;

/**
 * Oldest first, keyed on (created_at, id); the cursor carries created_at as text to keep microseconds,
 * and the filters' fingerprint (list-cursor.ts): a cursor given with other filters is a 400. Only the
 * documents the viewer may see (the caller has checked it reaches the collection). Documents, not
 * replacement rows: a document's pending or failed replacement shows as its `replacement`, so the
 * list agrees with the collection's document counts, and `replacement_status` matches that same
 * replacement (its latest one the viewer may see), so it agrees with `replacement_counts`.
 * A `status` filter reads documents_collection_status_created_idx (migration 0028), a page at a time.
 */
export async function listDocuments(
  db: Queryable,
  collectionId: string,
  page: { limit: number; cursor?: string | undefined } & DocumentListFilters,
  viewer: Viewer,
  limits: LimitsInForce,
): Promise<DocumentPage> {
  const filters = { status: page.status, replacement_status: page.replacement_status, tag: page.tag, name: page.name };
  const key = filterKey(filters);
  const after = page.cursor === undefined ? null : decodeCursor(page.cursor, key);
  if (page.cursor !== undefined && !after) {
    throw new AppError('invalid_request', 'The cursor is not valid: pass the next_cursor of the previous page, with the same status, replacement_status, tag and name.', { param: 'cursor' });
  }
  const params: unknown[] = [collectionId, ...viewerParams(viewer)];
  const ref = (value: unknown) => `$${params.push(value)}`;
  const visible = (alias: string) => documentVisibleSql(alias, 'c.team_id', '$2', '$3', '$4');
  const conditions = ['d.collection_id = $1', 'd.replaces_document_id IS NULL', visible('d')];
  if (after) conditions.push(`(d.created_at, d.id) > (${ref(after[0])}::timestamptz, ${ref(after[1])}::uuid)`);
  if (filters.status) conditions.push(`d.status = ${ref(filters.status)}`);
  if (filters.replacement_status) {
    conditions.push(`d.id IN (SELECT lr.document_id FROM (${latestReplacementsSql('$1', visible('r'))}) lr WHERE lr.status = ${ref(filters.replacement_status)})`);
  }
  // Search's tag filter (scope-sql.ts): at least one of them in `metadata.tags`.
  if (filters.tag) conditions.push(`d.metadata->'tags' ?| ${ref(filters.tag)}::text[]`);
  if (filters.name) {
    const pattern = ref(likeSubstring(filters.name));
    conditions.push(`(d.title ILIKE ${pattern} ESCAPE '\\' OR d.filename ILIKE ${pattern} ESCAPE '\\')`);
  }
  const r = await db.query<DocumentRow & { cursor_ts: string }>(
    `SELECT ${DOCUMENT_COLUMNS}, ${replacementStateSql(visible('r'))} AS replacement,
            d.created_at::text AS cursor_ts FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE ${conditions.join('\n        AND ')}
      ORDER BY d.created_at, d.id LIMIT ${ref(page.limit + 1)}`,
    params,
  );
  const rows = r.rows.slice(0, page.limit);
  const last = rows[rows.length - 1];
  return { data: rows.map((row) => toDocumentView(row, limits)), next_cursor: r.rows.length > page.limit && last ? encodeCursor(last.cursor_ts, last.id, key) : null };
}

/**
 * Sets a document's title and metadata without a new upload (`PATCH /v1/documents/:id`): a document
 * the viewer may change, as for a replacement or a delete (own or `write`-granted collection, and it
 * may see the document); null otherwise, as for a missing id. `metadata` replaces the whole object,
 * and `access_groups` is derived from it again (the same expression uploads and swaps use), so who may
 * read the document changes with it. Search reads both from the document row when it runs (chunks
 * carry neither), so the next search filters on what this committed. A replacement row is not a
 * document to describe: 409. The audit row (`document.update`: the fields and metadata keys that
 * changed, never their values, and the replacements the edit was carried into) commits with it.
 *
 * Edits and new versions apply in the order they were accepted. A replacement swapped in merges its
 * title and metadata over the document's (index-chunks.ts), so one accepted before this PATCH and
 * swapped in after it would undo the admin's edit with what was uploaded earlier. The edit is carried
 * into every replacement of the document not swapped in yet (pending or failed, which a retry may still
 * swap in), so the swap brings the edited fields as edited: the same outcome as had that replacement
 * been swapped in at once and this PATCH applied after it. A replacement accepted after the PATCH is
 * the later write and merges its own over it. The document's row lock, taken first here, by
 * acceptances and by swaps, puts each of them wholly before or after this. The replacements' own
 * access groups follow the carried metadata, as the document's do: their content becomes the
 * document's under it. Neither row's `version` moves: it fences ingestion jobs (a PATCH would stop the
 * document's or its replacement's run); `updated_at` is what shows the change.
 */
export async function updateDocument(
  db: Db,
  viewer: Viewer,
  id: string,
  patch: UpdateDocumentBody,
  by: CollectionActor,
  limits: LimitsInForce,
): Promise<IngestionDocumentView | null> {
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const locked = await tx.query<{ collection_id: string; team_id: string; title: string | null; metadata: Metadata; replaces_document_id: string | null }>(
      `SELECT d.collection_id, c.team_id, d.title, d.metadata, d.replaces_document_id FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1 AND ${collectionReachSql('c', '$2', 'write')} AND ${documentVisibleSql('d', 'c.team_id', '$2', '$3', '$4')}
          FOR UPDATE OF d`,
      [id, ...viewerParams(viewer)],
    );
    const before = locked.rows[0];
    if (!before) return null;
    if (before.replaces_document_id) {
      throw new AppError(
        'conflict',
        `${id} is a replacement upload of document ${before.replaces_document_id}, not a document: change the document with PATCH /v1/documents/${before.replaces_document_id} (a replacement's metadata is merged into it when its content is swapped in).`,
      );
    }
    const params: unknown[] = [id];
    const ref = (value: unknown) => `$${params.push(value)}`;
    const sets = ['updated_at = now()'];
    if (patch.title !== undefined) sets.push(`title = ${ref(patch.title)}`);
    if (patch.metadata !== undefined) {
      const metadata = `${ref(JSON.stringify(patch.metadata))}::jsonb`;
      sets.push(`metadata = ${metadata}`, `access_groups = ${accessGroupsSql(metadata)}`);
    }
    await tx.query(`UPDATE documents SET ${sets.join(', ')} WHERE id = $1`, params);
    // The same fields, carried into the replacements not swapped in yet (see above).
    const carried = await tx.query<{ id: string }>(`UPDATE documents SET ${sets.join(', ')} WHERE replaces_document_id = $1 AND status <> 'ready' RETURNING id`, params);
    const after = await tx.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS}, ${replacementStateSql(documentVisibleSql('r', 'c.team_id', '$2', '$3', '$4'))} AS replacement
         FROM documents d JOIN collections c ON c.id = d.collection_id WHERE d.id = $1`,
      [id, ...viewerParams(viewer)],
    );
    // A field left out of the body stays as it was (`title: null` clears the title).
    const stored = { title: patch.title === undefined ? before.title : patch.title, metadata: patch.metadata ?? before.metadata ?? {} };
    const fields = changedFields({ title: before.title, metadata: before.metadata ?? {} }, stored);
    const metadataKeys = changedFields(before.metadata ?? {}, stored.metadata);
    await recordDocumentChange(tx, by, {
      action: 'document.update',
      documentId: id,
      collectionId: before.collection_id,
      ownerTeamId: before.team_id,
      details: { fields, metadata_keys: metadataKeys, ...(carried.rows.length > 0 ? { carried_into_replacements: carried.rows.map((r) => r.id).sort() } : {}) },
    });
    return toDocumentView(after.rows[0]!, limits);
  });
}

/**
 * Deletes a document the viewer may change (own or `write`-granted collection, and may see it). Its
 * chunks, vectors and postings go by cascade, so it is a writer in collection-locks.ts's order: the
 * collection's shared lock first, which an activation that rewrites chunks and documents waits for.
 * The cached vectors of its text (its chunks', and those its or its replacements' jobs recorded
 * using, which is all a document that failed while embedding has) that no other chunk or live
 * document of their team holds go too (embed/embedding-cache.ts), and the audit row (`by`: who asked; ids and counts) commits with it.
 */
export async function deleteDocument(db: Db, viewer: Viewer, id: string, by: CollectionActor): Promise<boolean> {
  if (!isUuid(id)) return false;
  return db.transaction(async (tx) => {
    const owner = await tx.query<{ collection_id: string }>(`SELECT collection_id FROM documents WHERE id = $1`, [id]);
    if (!owner.rows[0]) return false;
    await lockCollectionForIndexWrite(tx, owner.rows[0].collection_id);
    // The row is locked before its chunks are read, so they are the chunks the delete takes: a swap
    // of a replacement (which locks it too) commits before or waits until after.
    const locked = await tx.query<{ collection_id: string; team_id: string }>(
      `SELECT d.collection_id, c.team_id FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1 AND ${collectionReachSql('c', '$2', 'write')} AND ${documentVisibleSql('d', 'c.team_id', '$2', '$3', '$4')}
          FOR UPDATE OF d`,
      [id, ...viewerParams(viewer)],
    );
    const doc = locked.rows[0];
    if (!doc) return false;
    const chunks = await tx.query<{ active: number; all: number; hashes: string[] }>(
      `SELECT (count(*) FILTER (WHERE index_version_id IS NULL))::int AS active, count(*)::int AS "all",
              COALESCE(array_agg(DISTINCT content_sha256), '{}') AS hashes
         FROM chunks WHERE document_id = $1`,
      [id],
    );
    const gone = chunks.rows[0]!;
    // Its replacement rows go by cascade: locked too (after it, the order a swap takes), so no job of
    // theirs caches a vector between the read of their uses and the delete (embed/embedding-cache.ts).
    const replacements = await tx.query<{ id: string }>(`SELECT id FROM documents WHERE replaces_document_id = $1 ORDER BY id FOR UPDATE`, [id]);
    // The texts its jobs and its replacements' looked up or cached without chunks to show for them
    // yet: those of a document that failed while embedding are known only from these.
    const used = await releaseEmbeddingUses(tx, [id, ...replacements.rows.map((r) => r.id)]);
    await tx.query(`DELETE FROM documents WHERE id = $1`, [id]);
    await redactQueriesOfDocuments(tx, [id]); // stored answers and quotes of it go with it
    await forgetUnusedEmbeddings(tx, { hashes: [...gone.hashes, ...used] });
    await recordDocumentChange(tx, by, {
      action: 'document.delete',
      documentId: id,
      collectionId: doc.collection_id,
      ownerTeamId: doc.team_id,
      // The active chunk set's count, and every set's (a version being built with other chunking keeps its own).
      details: { chunks: gone.active, chunks_all_sets: gone.all },
    });
    return true;
  });
}

/**
 * Sends a failed document back to the queue for a fresh run (`POST /v1/documents/:id/retry`): `queued`
 * under the next version (the job id and fence of the new attempt; any late job of the failed run
 * is fenced out), its attempt count restarted (it is the new run's retry budget, which the claim
 * and the reconciler read), progress and the final error cleared, the stored bytes kept. The
 * retrying caller becomes the submitter, so the new run's model calls are billed to it. Only a
 * `failed` row matches: of two retries at once, the second finds it `queued` and gets null, as does
 * any other state, and a superseded replacement (final: see document-retry-routes.ts). For a replacement upload the caller holds its target's lock and has checked that
 * no newer replacement followed it (see document-retry-routes.ts). The caller holds the content's lock
 * (content-dedupe.ts) and checks, before it commits, that no other document holds or is getting the
 * bytes (`checkRetryContent`; a POST requeues the holder `findContentHolders` found).
 */
export async function requeueFailedDocument(
  tx: Queryable,
  documentId: string,
  identity: Identity,
  traceId: string,
): Promise<{ document: IngestionDocumentView; version: number } | null> {
  const r = await tx.query<DocumentRow & { version: number }>(
    `UPDATE documents AS d
        SET version = d.version + 1, status = 'queued', stage = 'queued', attempts = 0,
            pages_parsed = NULL, pages_total = NULL, chunks_total = NULL, chunks_embedded = 0, chunks_cached = 0,
            warnings = '[]'::jsonb, scanned_pages = '{}', embed_started_at = NULL,
            error_code = NULL, error_message = NULL, error_stage = NULL, error_limit = NULL, stall_reason = NULL,
            submitted_identity = $2::jsonb, trace_id = $3, updated_at = now()
      WHERE d.id = $1 AND d.status = 'failed' AND d.error_code IS DISTINCT FROM '${SUPERSEDED_CODE}'
      RETURNING ${DOCUMENT_COLUMNS}, d.version`,
    [documentId, JSON.stringify(identity), traceId],
  );
  const row = r.rows[0];
  return row ? { document: toDocumentView(row), version: toNumber(row.version) } : null;
}
