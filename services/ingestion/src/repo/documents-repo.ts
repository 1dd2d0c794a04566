import { documentFailureAdvice, type DocumentStage, type DocumentView, type Identity, type ListDocumentsQuery, type Metadata, type UpdateDocumentBody } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import { changedFields, lockCollectionForIndexWrite, recordDocumentChange, redactQueriesOfDocuments, type CollectionActor } from '@quire/index-versions';
import { AppError } from '@quire/server-kit';
import { isoString, isUuid, likeSubstring, toNullableNumber, toNumber } from './sql-values.js';
import { accessGroupsSql, collectionReachSql, documentVisibleSql, viewerParams, type Viewer } from './access-sql.js';
import { toBase64 } from './blob-transfer.js';
import { forgetUnusedEmbeddings, releaseEmbeddingUses } from '../embed/embedding-cache.js';
import { latestReplacementsSql, replacementStateSql, SUPERSEDED_CODE, toReplacementState, type ReplacementState } from './replacements-repo.js';
import { decodeCursor, encodeCursor, filterKey } from './list-cursor.js';

interface DocumentRow {
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

const COLUMNS = `d.id, d.collection_id, d.title, d.filename, d.mime_type, d.byte_size, d.content_sha256, d.metadata, d.status,
  d.stage, d.pages_parsed, d.pages_total, d.chunks_total, d.chunks_embedded, d.attempts, d.error_code, d.error_message,
  d.error_stage, d.job_id, d.created_at, d.updated_at, d.stall_reason, d.warnings, d.scanned_pages, d.replaces_document_id,
  CASE WHEN d.status = 'processing' AND d.stage = 'embedding' AND d.chunks_embedded > 0 AND d.chunks_total > d.chunks_embedded
            AND d.embed_started_at IS NOT NULL
       THEN ceil(extract(epoch FROM (now() - d.embed_started_at)) * (d.chunks_total - d.chunks_embedded) / d.chunks_embedded)::int
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

export function toDocumentView(row: DocumentRow): IngestionDocumentView {
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
    ...(row.replacement !== undefined && !row.replaces_document_id ? { replacement: toReplacementState(row.replacement, row.id) } : {}),
    error: row.status === 'failed' && row.error_code
      ? { code: row.error_code, message: row.error_message ?? '', stage: row.error_stage, ...documentFailureAdvice(row.error_code, { id: row.id, documentId: row.replaces_document_id ?? row.id }) }
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
     RETURNING ${COLUMNS}`,
    [doc.collectionId, doc.title, doc.filename, doc.mime, doc.bytes.length, doc.sha256, JSON.stringify(doc.metadata), JSON.stringify(doc.identity), doc.traceId, doc.replacesDocumentId ?? null, owner.rows[0].team_id],
  );
  const row = r.rows[0]!;
  await tx.query(`INSERT INTO document_blobs (document_id, sha256, bytes) VALUES ($1, $2, decode($3, 'base64'))`, [row.id, doc.sha256, toBase64(doc.bytes)]);
  return toDocumentView(row);
}

/**
 * The advisory locks `findDuplicate` takes, for every file of an upload at once and in hash order:
 * taken file by file in upload order, two uploads of the same files in opposite orders could each
 * hold one and wait for the other's. Re-entrant, so `findDuplicate` taking its own again is free.
 */
export async function lockUploadHashes(tx: Queryable, collectionId: string, sha256s: string[]): Promise<void> {
  for (const sha of [...new Set(sha256s)].sort()) await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${collectionId}:${sha}`]);
}

/**
 * An earlier upload of the same bytes to the same collection (a document, not a replacement row) that
 * `viewer` may see (document-level access): the oldest that has not failed, else the oldest failed one,
 * so re-uploading a file that failed finds that document rather than adding a failed copy (the caller
 * retries it or answers with it: see acceptUpload). `except`: a document not to answer (a PUT's own).
 * The caller holds an advisory lock on (collection, hash), so two identical uploads at once still make
 * one document. A copy the viewer may not see is not answered, nor refused (that would tell it
 * exists): the upload is stored as a document of its own.
 */
export async function findDuplicate(tx: Queryable, viewer: Viewer, collectionId: string, sha256: string, except: string | null = null): Promise<IngestionDocumentView | null> {
  await lockUploadHashes(tx, collectionId, [sha256]);
  const r = await tx.query<DocumentRow>(
    `SELECT ${COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.collection_id = $1 AND d.content_sha256 = $2 AND d.replaces_document_id IS NULL AND d.id IS DISTINCT FROM $6::uuid
        AND ${documentVisibleSql('d', 'c.team_id', '$3', '$4', '$5')}
      ORDER BY d.status = 'failed', d.created_at LIMIT 1`,
    [collectionId, sha256, ...viewerParams(viewer), except],
  );
  return r.rows[0] ? { ...toDocumentView(r.rows[0]), duplicate: true } : null;
}

/**
 * A document the viewer may see (`read`) or change (`write`): its collection is the viewer's team's
 * or granted to it, and document-level access lets it through (access-sql.ts). Otherwise null, the
 * same as a missing id.
 */
export async function getDocument(db: Queryable, viewer: Viewer, id: string, access: 'read' | 'write' = 'read'): Promise<IngestionDocumentView | null> {
  if (!isUuid(id)) return null;
  const r = await db.query<DocumentRow>(
    `SELECT ${COLUMNS}, ${replacementStateSql(documentVisibleSql('r', 'c.team_id', '$2', '$3', '$4'))} AS replacement
       FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.id = $1 AND ${collectionReachSql('c', '$2', access)} AND ${documentVisibleSql('d', 'c.team_id', '$2', '$3', '$4')}`,
    [id, ...viewerParams(viewer)],
  );
  return r.rows[0] ? toDocumentView(r.rows[0]) : null;
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
    `SELECT ${COLUMNS}, ${replacementStateSql(visible('r'))} AS replacement,
            d.created_at::text AS cursor_ts FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE ${conditions.join('\n        AND ')}
      ORDER BY d.created_at, d.id LIMIT ${ref(page.limit + 1)}`,
    params,
  );
  const rows = r.rows.slice(0, page.limit);
  const last = rows[rows.length - 1];
  return { data: rows.map(toDocumentView), next_cursor: r.rows.length > page.limit && last ? encodeCursor(last.cursor_ts, last.id, key) : null };
}

/**
 * Sets a document's title and metadata without a new upload (`PATCH /v1/documents/:id`): a document
 * the viewer may change, as for a replacement or a delete (own or `write`-granted collection, and it
 * may see the document); null otherwise, as for a missing id. `metadata` replaces the whole object,
 * and `access_groups` is derived from it again (the same expression uploads and swaps use), so who may
 * read the document changes with it. Search reads both from the document row when it runs (chunks
 * carry neither), so the next search filters on what this committed. The row is locked first, so a
 * replacement's swap (which locks it too) comes wholly before or after: one after it merges the
 * replacement's metadata over this. A replacement row is not a document to describe: 409. The audit
 * row (`document.update`: the fields and metadata keys that changed, never their values) commits with it.
 */
export async function updateDocument(db: Db, viewer: Viewer, id: string, patch: UpdateDocumentBody, by: CollectionActor): Promise<IngestionDocumentView | null> {
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
    const after = await tx.query<DocumentRow>(
      `SELECT ${COLUMNS}, ${replacementStateSql(documentVisibleSql('r', 'c.team_id', '$2', '$3', '$4'))} AS replacement
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
      details: { fields, metadata_keys: metadataKeys },
    });
    return toDocumentView(after.rows[0]!);
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
 * no newer replacement followed it (see document-retry-routes.ts).
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
            pages_parsed = NULL, pages_total = NULL, chunks_total = NULL, chunks_embedded = 0,
            warnings = '[]'::jsonb, scanned_pages = '{}', embed_started_at = NULL,
            error_code = NULL, error_message = NULL, error_stage = NULL, stall_reason = NULL,
            submitted_identity = $2::jsonb, trace_id = $3, updated_at = now()
      WHERE d.id = $1 AND d.status = 'failed' AND d.error_code IS DISTINCT FROM '${SUPERSEDED_CODE}'
      RETURNING ${COLUMNS}, d.version`,
    [documentId, JSON.stringify(identity), traceId],
  );
  const row = r.rows[0];
  return row ? { document: toDocumentView(row), version: toNumber(row.version) } : null;
}
