import type { Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { documentVisibleSql, viewerParams, type Viewer } from './access-sql.js';
import { DOCUMENT_COLUMNS, toDocumentView, type DocumentRow, type IngestionDocumentView } from './documents-repo.js';
import type { LimitsInForce } from './failure-advice.js';

/**
 * A collection holds each content once: an upload of bytes a document already holds is answered with
 * that document (POST), or refused (PUT onto another document). Every upload and replacement takes an
 * advisory lock on (collection, content hash) before it looks, and keeps it until it commits, so of two
 * uploads of the same bytes the second always sees what the first stored, whichever route each came by.
 */

/**
 * The advisory locks `findContentHolders` takes, for every file of an upload at once and in hash
 * order: taken file by file in upload order, two uploads of the same files in opposite orders could
 * each hold one and wait for the other's. Re-entrant, so `findContentHolders` taking its own again is free.
 */
export async function lockUploadHashes(tx: Queryable, collectionId: string, sha256s: string[]): Promise<void> {
  for (const sha of [...new Set(sha256s)].sort()) await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${collectionId}:${sha}`]);
}

/** A replacement upload (PUT) bringing the bytes into another document, accepted and not finished. */
export interface PendingReplacement {
  id: string;
  /** The document it replaces, which holds the bytes once it is swapped in. */
  documentId: string;
}

export interface ContentHolders {
  /**
   * An earlier document with the bytes: the oldest that has not failed, else the oldest failed one,
   * so re-uploading a file that failed finds that document rather than adding a failed copy (the
   * caller retries it or answers with it: see acceptUpload).
   */
  document: IngestionDocumentView | null;
  /**
   * The oldest replacement of another document that brings the bytes in and is `queued` or
   * `processing`. Once swapped in, its document holds them: an upload that did not count it would
   * leave two documents with the same content. A failed one is not counted, as a failed document is not.
   */
  pending: PendingReplacement | null;
}

type HolderRow = DocumentRow & { pending: boolean };

/**
 * What in the collection holds, or is about to hold, these bytes, among what `viewer` may see
 * (document-level access; a copy it may not see is neither answered nor refused, which would tell it
 * exists, so the upload is stored on its own). `except`: a PUT's target, whose own content and
 * replacements are not another document's.
 *
 * One statement, so one snapshot: read in two, a swap committing between them could show its
 * replacement neither pending (the second read) nor swapped in (the first). The caller holds the
 * hash's lock (taken again here), which every upload and replacement of the bytes takes first.
 */
export async function findContentHolders(
  tx: Queryable,
  viewer: Viewer,
  collectionId: string,
  sha256: string,
  options: { except?: string | null; limits: LimitsInForce },
): Promise<ContentHolders> {
  await lockUploadHashes(tx, collectionId, [sha256]);
  // At most two rows: the best document (pending false) and the oldest pending replacement (true).
  const r = await tx.query<HolderRow>(
    `SELECT DISTINCT ON (d.replaces_document_id IS NOT NULL) ${DOCUMENT_COLUMNS}, d.replaces_document_id IS NOT NULL AS pending
       FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.collection_id = $1 AND d.content_sha256 = $2
        AND (d.replaces_document_id IS NULL OR d.status IN ('queued', 'processing'))
        AND ($6::uuid IS NULL OR (d.id <> $6::uuid AND d.replaces_document_id IS DISTINCT FROM $6::uuid))
        AND ${documentVisibleSql('d', 'c.team_id', '$3', '$4', '$5')}
      ORDER BY d.replaces_document_id IS NOT NULL, d.status = 'failed', d.created_at`,
    [collectionId, sha256, ...viewerParams(viewer), options.except ?? null],
  );
  const document = r.rows.find((row) => !row.pending);
  const pending = r.rows.find((row) => row.pending);
  return {
    document: document ? { ...toDocumentView(document, options.limits), duplicate: true } : null,
    pending: pending?.replaces_document_id ? { id: pending.id, documentId: pending.replaces_document_id } : null,
  };
}

/**
 * A failed document or replacement being run again (`POST /v1/documents/:id/retry`): `id` the row
 * retried, `documentId` the document its content is for (its own id, or a replacement's target).
 */
export interface RetriedCopy {
  id: string;
  documentId: string;
}

/** The 409 for bytes another document holds, which a PUT (or a retry, `retrying`) would bring into a second one. */
export function duplicateContentError(holder: IngestionDocumentView, sha256: string, retrying?: RetriedCopy): AppError {
  const exposed = { reason: 'duplicate_content', document_id: holder.id, content_sha256: sha256 };
  const held = `Document ${holder.id} in this collection already holds this content, and a collection holds each content once`;
  if (!retrying) {
    return new AppError('conflict', `${held}; delete one of the two documents first to move it.`, { param: 'file', exposed });
  }
  // The failed copy stays failed and searchable through the holder; what to do depends on whose it is.
  const action = retrying.id === retrying.documentId
    ? `Delete this failed copy with DELETE /v1/documents/${retrying.id} (the content is searchable through document ${holder.id}), or delete document ${holder.id} first to run this one in its place.`
    : `Document ${retrying.documentId} keeps its current content: delete document ${holder.id} first to bring this content into it, or upload another version with PUT /v1/documents/${retrying.documentId}.`;
  const what = retrying.id === retrying.documentId ? `failed document ${retrying.id}` : `failed replacement ${retrying.id} of document ${retrying.documentId}`;
  return new AppError('conflict', `${held}, so ${what} is not run again. ${action}`, { exposed: { ...exposed, status: 'failed', action } });
}

/**
 * The 409 for bytes a pending replacement is bringing into another document. Not answered with that
 * document, as a POST of bytes it holds is: the replacement may still fail or be superseded, and the
 * caller would be told its content is stored when it is not. Once the replacement has finished the same
 * upload is answered with the document (swapped in) or stored (failed); so is a retry (`retrying`)
 * refused (duplicateContentError) or run.
 */
export function pendingReplacementError(pending: PendingReplacement, sha256: string, retrying?: RetriedCopy): AppError {
  const exposed = { reason: 'replacement_pending', document_id: pending.documentId, replacement_id: pending.id, content_sha256: sha256 };
  const bringing = `Replacement ${pending.id} is bringing this content into document ${pending.documentId} and has not finished, and a collection holds each content once.`;
  if (!retrying) {
    return new AppError('conflict', `${bringing} Wait until GET /v1/documents/${pending.id} shows it finished, then upload again.`, { param: 'file', exposed });
  }
  const action = `Wait until GET /v1/documents/${pending.id} shows it finished, then retry: if it failed, ${retrying.id} runs; if it was swapped in, document ${pending.documentId} holds the content and the retry says what to do with this copy.`;
  return new AppError('conflict', `${bringing} ${action}`, { exposed: { ...exposed, status: 'failed', action } });
}

/**
 * Refuses a retry that would leave the collection with two documents holding the same bytes, as a PUT
 * of them would be refused (acceptUpload): another document that holds them and has not failed is
 * 409 `duplicate_content`, a pending replacement bringing them into another document 409
 * `replacement_pending`. "Another" leaves out the document the retried content is for, the row's own
 * or a replacement's target, and that document's replacements: a replacement restoring the content its
 * target holds is no second copy, nor is one of the target's own replacements (an older one was
 * superseded; a newer one refuses the retry anyway, see document-retry-routes.ts). A failed copy
 * elsewhere does not count, as for uploads. The caller holds the hash's lock, taken before any other.
 */
export async function checkRetryContent(
  tx: Queryable,
  viewer: Viewer,
  doc: Pick<IngestionDocumentView, 'id' | 'collection_id' | 'content_sha256' | 'replaces_document_id'>,
  limits: LimitsInForce,
): Promise<void> {
  const retrying = { id: doc.id, documentId: doc.replaces_document_id ?? doc.id };
  const { document, pending } = await findContentHolders(tx, viewer, doc.collection_id, doc.content_sha256, { except: retrying.documentId, limits });
  if (document && document.status !== 'failed') throw duplicateContentError(document, doc.content_sha256, retrying);
  if (pending) throw pendingReplacementError(pending, doc.content_sha256, retrying);
}
