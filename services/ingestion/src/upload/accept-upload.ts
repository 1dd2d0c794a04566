import type { Request, Response } from 'express';
import type { Identity } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import type { JobQueue } from '@quire/jobs';
import { AppError, ctx, type Logger } from '@quire/server-kit';
import { ingestDocumentJob, type IngestDocumentPayload } from '../jobs/ingest-document-job.js';
import type { IngestionLimits } from '../limits.js';
import type { Viewer } from '../repo/access-sql.js';
import { setJobId } from '../repo/document-jobs-repo.js';
import { duplicateContentError, findContentHolders, lockUploadHashes, pendingReplacementError, checkRetryContent } from '../repo/content-dedupe.js';
import { getDocument, insertDocument, requeueFailedDocument, type IngestionDocumentView } from '../repo/documents-repo.js';
import type { LimitsInForce } from '../repo/failure-advice.js';
import { lockReplacementTarget, supersedeReplacements } from '../repo/replacements-repo.js';
import { budgetItemsOf, checkUploadBudget } from '../routes/upload-budget.js';
import { readUpload } from './read-upload.js';

export interface AcceptUploadDeps {
  db: Db;
  queue: JobQueue<IngestDocumentPayload>;
  limits: IngestionLimits;
  logger: Logger;
  /** Asked for the budget check before an upload is accepted (absent: no check). */
  models?: GatewayModels;
}

interface Accepted {
  view: IngestionDocumentView;
  /** The job to enqueue once committed: a new document's, or a failed one's that the upload retried. */
  payload?: IngestDocumentPayload;
}

/**
 * An upload whose bytes a document already holds is answered with that document (`duplicate: true`),
 * not stored again. A failed one is run again from its stored bytes (as `POST /v1/documents/:id/retry`
 * would, `retried: true`, and checked as it is: checkRetryContent) when the failure is one a retry can fix (time or configuration, see
 * documentFailureAdvice); one whose file is the cause is answered as it is, its `error.action` saying
 * what to upload instead, since the same bytes would only fail again.
 */
async function reuseDocument(tx: Queryable, viewer: Viewer, doc: IngestionDocumentView, identity: Identity, traceId: string, limits: LimitsInForce): Promise<Accepted> {
  if (doc.status === 'failed' && doc.error?.retryable) {
    const row = await requeueFailedDocument(tx, doc.id, identity, traceId);
    if (row) {
      const payload: IngestDocumentPayload = { documentId: doc.id, collectionId: row.document.collection_id, version: row.version, identity, traceId };
      const jobId = ingestDocumentJob.jobId(payload);
      await setJobId(tx, doc.id, jobId);
      return { view: { ...row.document, job_id: jobId, duplicate: true, retried: true }, payload };
    }
    // Retried by someone else meanwhile: answered as it is now.
    doc = (await getDocument(tx, viewer, doc.id, { limits })) ?? doc;
  }
  return { view: { ...doc, duplicate: true, retried: false } };
}

/**
 * Rows and bytes commit before anything is enqueued: a job never sees a missing document, and an
 * enqueue that fails after commit is picked up by the reconciler. Identical bytes already in the
 * collection are answered with the existing document (`duplicate: true`) and not stored again; a
 * failed one is retried or answered as it is (reuseDocument). Several files are all accepted or all
 * refused (readUpload names every refused one).
 * `viewer` finds the documents (see `actingViewer`); a new document belongs to the collection's
 * team, while its submitter, and so its embedding cost and budget, is the caller's identity.
 *
 * A replacement (PUT) is exactly one file; accepting it supersedes the target's unfinished
 * replacements (listed as `superseded_replacement_ids`), so the latest accepted one is the one that
 * swaps in. It keeps the document's title unless the upload names one (a document without a title
 * takes the new file's name). Its content is checked as an upload's is:
 * - The document's own current content, with no other replacement under way, changes nothing: 200
 *   with the document and `unchanged: true` (a failed document is retried as above). With a
 *   replacement under way it is a new version like any other (it restores the content).
 * - Content another document of the collection already holds (one the caller may see and that has
 *   not failed) is 409 `conflict` naming it (`document_id`, `reason: "duplicate_content"`): an
 *   upload of those bytes would be answered with that document, and a collection holds each content
 *   once (search would otherwise return the same passages twice, from two documents). Delete one of
 *   them first to move the content.
 * - Content a replacement of another document is bringing in (`queued` or `processing`) is 409
 *   `conflict` naming it (`reason: "replacement_pending"`), for a POST as for a PUT: once swapped in
 *   that document holds it (content-dedupe.ts).
 */
export async function acceptUpload(deps: AcceptUploadDeps, req: Request, res: Response, viewer: Viewer, collectionId: string, replaceId: string | null): Promise<void> {
  const { db, limits } = deps;
  const { identity, traceId } = ctx(res);
  const upload = await readUpload(req, res, deps.limits);
  const target = replaceId ?? upload.replaceDocumentId;
  if (target && upload.items.length !== 1) {
    throw new AppError('invalid_request', `Replace a document with exactly one file; this upload has ${upload.items.length}.`, { param: 'file' });
  }
  if (target) {
    const existing = await getDocument(db, viewer, target, { access: 'write', limits });
    if (!existing || existing.collection_id !== collectionId || existing.replaces_document_id) {
      throw new AppError('document_not_found', `No document ${target} in this collection.`);
    }
  }
  // Refused with 402 before anything is stored, rather than failing the job at its first embed call.
  if (deps.models) await checkUploadBudget(deps.models, db, ctx(res), collectionId, budgetItemsOf(upload.items));
  const superseded: { id: string; jobId: string | null }[] = [];
  let unchanged = false;
  const accepted = await db.transaction(async (tx) => {
    // The hashes' locks first, then a replacement's target: the order every upload takes them in.
    await lockUploadHashes(tx, collectionId, upload.items.map((item) => item.sha256));
    // Deleted since the check above: a 404, not the foreign key's 500. The lock also orders this
    // upload against other replacements of the target and against their swaps.
    if (target && !(await lockReplacementTarget(tx, target, collectionId))) {
      throw new AppError('document_not_found', `No document ${target} in this collection.`);
    }
    const out: Accepted[] = [];
    for (const item of upload.items) {
      let title = item.title;
      if (target) {
        const current = await getDocument(tx, viewer, target, { access: 'write', limits });
        if (!current) throw new AppError('document_not_found', `No document ${target} in this collection.`);
        const underWay = current.replacement?.status === 'queued' || current.replacement?.status === 'processing';
        if (current.content_sha256 === item.sha256 && !underWay) {
          // A failed document's own bytes retry it (reuseDocument), checked as a retry is: another
          // document may have taken those bytes since it failed.
          if (current.status === 'failed' && current.error?.retryable) await checkRetryContent(tx, viewer, current, limits);
          unchanged = true;
          out.push(await reuseDocument(tx, viewer, current, identity, traceId, limits));
          continue;
        }
        if (current.content_sha256 !== item.sha256) {
          const other = await findContentHolders(tx, viewer, collectionId, item.sha256, { except: target, limits });
          if (other.document && other.document.status !== 'failed') throw duplicateContentError(other.document, item.sha256);
          if (other.pending) throw pendingReplacementError(other.pending, item.sha256);
        }
        // Null keeps the document's title when the swap writes COALESCE(new, old) (index-chunks.ts).
        if (!item.titleGiven && current.title !== null) title = null;
      } else {
        const { document: duplicate, pending } = await findContentHolders(tx, viewer, collectionId, item.sha256, { limits });
        if (duplicate) {
          // A failed copy that would run again is checked as its retry (and a PUT of its own bytes) is:
          // refused while a replacement is bringing the bytes into another document (retried, it would
          // be a second copy once that one is swapped in), not for one of its own replacements. One that
          // would not run again stores nothing, and is answered as it is.
          if (duplicate.status === 'failed' && duplicate.error?.retryable) await checkRetryContent(tx, viewer, duplicate, limits);
          out.push(await reuseDocument(tx, viewer, duplicate, identity, traceId, limits));
          continue;
        }
        if (pending) throw pendingReplacementError(pending, item.sha256);
      }
      const view = await insertDocument(tx, { ...item, title, collectionId, identity, traceId, replacesDocumentId: target });
      if (target) superseded.push(...(await supersedeReplacements(tx, target, view.id)));
      const payload: IngestDocumentPayload = { documentId: view.id, collectionId, version: 1, identity, traceId };
      view.job_id = ingestDocumentJob.jobId(payload);
      await setJobId(tx, view.id, view.job_id);
      out.push({ view: { ...view, duplicate: false }, payload });
    }
    return out;
  });
  for (const { payload } of accepted) {
    if (!payload) continue;
    await deps.queue.enqueue(payload).catch((error: unknown) => {
      deps.logger.warn('enqueue failed; the reconciler will retry', { trace_id: traceId, document_id: payload.documentId, err: String(error) });
    });
  }
  // A superseded replacement's queued job would only be stopped by the version fence when a worker took
  // it up (a claim that does nothing); taking it out of the queue spares that turn. A running one stops itself.
  for (const { id, jobId } of superseded) {
    if (!jobId) continue;
    await deps.queue.discard(jobId).catch((error: unknown) => {
      deps.logger.warn('could not discard a superseded replacement\'s job; its version fence stops it', { trace_id: traceId, document_id: id, job_id: jobId, err: String(error) });
    });
  }
  const nothingQueued = accepted.every((a) => !a.payload);
  res.status(nothingQueued ? 200 : 202).json({
    documents: accepted.map((a) => a.view),
    ...(target ? { replaces_document_id: target, superseded_replacement_ids: superseded.map((s) => s.id), unchanged } : {}),
  });
}
