import type { Request, Response } from 'express';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import type { JobQueue } from '@quire/jobs';
import { AppError, ctx, type Logger } from '@quire/server-kit';
import { ingestDocumentJob, type IngestDocumentPayload } from '../jobs/ingest-document-job.js';
import type { IngestionLimits } from '../limits.js';
import type { Viewer } from '../repo/access-sql.js';
import { setJobId } from '../repo/document-jobs-repo.js';
import { findDuplicate, getDocument, insertDocument, lockUploadHashes, type IngestionDocumentView } from '../repo/documents-repo.js';
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

/**
 * Rows and bytes commit before anything is enqueued: a job never sees a missing document, and an
 * enqueue that fails after commit is picked up by the reconciler. Identical bytes already in the
 * collection are answered with the existing document (`duplicate: true`) and not stored again.
 * `viewer` finds the documents (see `actingViewer`); a new document belongs to the collection's
 * team, while its submitter, and so its embedding cost and budget, is the caller's identity.
 * A replacement is exactly one file; accepting it supersedes the target's unfinished replacements
 * (listed as `superseded_replacement_ids`), so the latest accepted one is the one that swaps in.
 */
export async function acceptUpload(deps: AcceptUploadDeps, req: Request, res: Response, viewer: Viewer, collectionId: string, replaceId: string | null): Promise<void> {
  const { db } = deps;
  const { identity, traceId } = ctx(res);
  const upload = await readUpload(req, res, deps.limits);
  const target = replaceId ?? upload.replaceDocumentId;
  if (target && upload.items.length !== 1) {
    throw new AppError('invalid_request', `Replace a document with exactly one file; this upload has ${upload.items.length}.`, { param: 'file' });
  }
  if (target) {
    const existing = await getDocument(db, viewer, target, 'write');
    if (!existing || existing.collection_id !== collectionId || existing.replaces_document_id) {
      throw new AppError('document_not_found', `No document ${target} in this collection.`);
    }
  }
  // Refused with 402 before anything is stored, rather than failing the job at its first embed call.
  if (deps.models) await checkUploadBudget(deps.models, db, ctx(res), collectionId, budgetItemsOf(upload.items));
  const superseded: { id: string; jobId: string | null }[] = [];
  const accepted = await db.transaction(async (tx) => {
    // Deleted since the check above: a 404, not the foreign key's 500. The lock also orders this
    // upload against other replacements of the target and against their swaps.
    if (target && !(await lockReplacementTarget(tx, target, collectionId))) {
      throw new AppError('document_not_found', `No document ${target} in this collection.`);
    }
    const out: { view: IngestionDocumentView; payload?: IngestDocumentPayload }[] = [];
    if (!target) await lockUploadHashes(tx, collectionId, upload.items.map((item) => item.sha256));
    for (const item of upload.items) {
      const duplicate = target ? null : await findDuplicate(tx, viewer, collectionId, item.sha256);
      if (duplicate) {
        out.push({ view: duplicate });
        continue;
      }
      const view = await insertDocument(tx, { ...item, collectionId, identity, traceId, replacesDocumentId: target });
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
  const allDuplicates = accepted.every((a) => !a.payload);
  res.status(allDuplicates ? 200 : 202).json({ documents: accepted.map((a) => a.view), ...(target ? { replaces_document_id: target, superseded_replacement_ids: superseded.map((s) => s.id) } : {}) });
}
