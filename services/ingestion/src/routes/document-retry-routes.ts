import type { Router } from 'express';
import type { DocumentError } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { JobQueue } from '@quire/jobs';
import { AppError, ctx, handle, paramsOf, type Logger, exactRouter } from '@quire/server-kit';
import { ingestDocumentJob, type IngestDocumentPayload } from '../jobs/ingest-document-job.js';
import { checkRetryContent, lockUploadHashes } from '../repo/content-dedupe.js';
import { getDocument, requeueFailedDocument, type IngestionDocumentView } from '../repo/documents-repo.js';
import { setJobId } from '../repo/document-jobs-repo.js';
import { lockReplacementTarget, newerReplacement, SUPERSEDED_CODE } from '../repo/replacements-repo.js';
import type { GatewayModels } from '@quire/gateway-client';
import type { LimitsInForce } from '../repo/failure-advice.js';
import { actingViewer } from './acting-viewer.js';
import { documentNotFound, IdParams } from './path-params.js';
import { checkUploadBudget } from './upload-budget.js';

interface Deps {
  db: Db;
  queue: JobQueue<IngestDocumentPayload>;
  logger: Logger;
  models?: GatewayModels;
  /** Those in force: a failure under a limit is retried once it is higher than the one it failed under. */
  limits: LimitsInForce;
}

/** The document a superseded replacement targeted, or null for any other document. */
const supersededTarget = (doc: { replaces_document_id: string | null; error: { code: string } | null }) =>
  doc.replaces_document_id && doc.error?.code === SUPERSEDED_CODE ? doc.replaces_document_id : null;

const supersededError = (id: string, target: string) =>
  new AppError('conflict', `Replacement ${id} was superseded by a newer upload and cannot be retried; upload the file again with PUT /v1/documents/${target}.`, {
    exposed: { reason: 'superseded', status: 'failed', document_id: target, action: `Upload the file again with PUT /v1/documents/${target}.` },
  });

/**
 * A failure whose cause is the stored file (documentFailureAdvice): a retry would fail the same way.
 * One under a limit not raised since names the setting and the value it failed under (`limit_setting`,
 * `failed_under`): raising it lets the retry through.
 */
const fileFailureError = (doc: IngestionDocumentView, error: DocumentError) => {
  const why = error.limit
    ? `failed under ${error.limit.setting} (${error.limit.failed_under}), which has not been raised since, so the same file would fail again`
    : `failed with ${error.code}, which the same file fails again, so it is not retried`;
  return new AppError('conflict', `Document ${doc.id} ${why}. ${error.action}`, {
    exposed: {
      reason: 'not_retryable', status: doc.status, document_id: doc.replaces_document_id ?? doc.id, failure_code: error.code, action: error.action,
      ...(error.limit ? { limit_setting: error.limit.setting, failed_under: error.limit.failed_under } : {}),
    },
  });
};

/**
 * A document that is not failed. One whose latest replacement failed names it: that is the upload a
 * retry was most likely meant for (the document itself stays `ready` on its previous content).
 */
function notFailedError(doc: IngestionDocumentView): AppError {
  const message = `Document ${doc.id} is ${doc.status}; only a failed document can be retried.`;
  const replacement = doc.replacement;
  if (replacement?.status === 'failed' && replacement.error) {
    // The replacement's own action: a retry of it (POST /v1/documents/<replacement>/retry), or what to upload instead.
    const { code, action } = replacement.error;
    return new AppError('conflict', `${message} Its latest replacement ${replacement.id} failed (${code}); ${replacement.error.retryable ? 'that one can be retried' : 'it cannot be retried'}. ${action}`, {
      exposed: { reason: 'not_failed', status: doc.status, document_id: doc.id, failed_replacement_id: replacement.id, failure_code: code, action },
    });
  }
  return new AppError('conflict', message, { exposed: { reason: 'not_failed', status: doc.status, document_id: doc.replaces_document_id ?? doc.id } });
}

/**
 * `POST /v1/documents/:id/retry`: runs a `failed` document again from its stored bytes (no
 * re-upload), answering 202 with the document, now `queued` under a new version and job. Who may: as
 * for the other document writes (own or `write`-granted collection, document visible; organisation
 * admins act as the owning team); anyone else gets 404. Any other state is 409 `conflict`, its
 * message naming the state (and a failed latest replacement, the one to retry); so is the second of
 * two retries at once (a double click): the first requeued the document, and only one attempt is
 * enqueued. A failure whose cause is the file itself (`error.retryable` false: unreadable, no text,
 * over a limit; see documentFailureAdvice) is 409 too, since the stored bytes would fail the same way:
 * its `action` says what to upload instead. Failures of time or configuration (a provider down, a key
 * not set, a budget spent, a stall) are retried, once the fix is made. So is a failure under a limit
 * (too many pages, a parse deadline...) once an operator has raised that limit above the value the
 * failure recorded (failure-advice.ts): the same bytes may pass now.
 *
 * A collection holds each content once, and a retry is checked as a PUT of the stored bytes would be
 * (content-dedupe.ts, under the same lock): when another document the caller may see holds them and
 * has not failed, it is 409 `duplicate_content` naming that document (`document_id`), and `action`
 * says what to do with the failed copy (delete it; or delete the other document first); when a
 * replacement is bringing them into another document, 409 `replacement_pending` naming both
 * (`document_id`, `replacement_id`) until it finishes. Another document: not the one the content is
 * for, so a failed replacement restoring its target's own content is run.
 *
 * Every 409 says why beside `error` (AppError `exposed`): `reason` (`not_failed`, `not_retryable`,
 * `superseded`, `newer_replacement`), `status`, `document_id` (the document the content is for), and
 * as they apply `failed_replacement_id`, `newer_replacement_id`, `failure_code` and `action`; the
 * content ones (`duplicate_content`, `replacement_pending`) as for uploads, `document_id` naming the
 * document that holds or is getting the content.
 *
 * A failed replacement upload (the row a PUT created, listed as the document's `replacement`) is
 * retried too while it is its document's latest replacement: its bytes are kept until it is swapped
 * in, and its swap still refuses it if a newer replacement arrives meanwhile. One that a newer
 * replacement followed (superseded, or accepted after it failed) is 409 `conflict` naming the newer
 * one: retrying it would bring back content older than the latest upload. A superseded replacement
 * is refused (409) for good, even once the newer replacements are gone (deleted): its content is
 * still older than an upload the caller made after it, so only a new PUT may bring it back.
 *
 * The caller becomes the submitter, billed for the new run's embeddings, so its budget is checked
 * as for an upload (402 `budget_exceeded`), from the stored size.
 */
export function documentRetryRoutes(deps: Deps): Router {
  const { db } = deps;
  const router = exactRouter();

  router.post(
    '/v1/documents/:id/retry',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const { identity, traceId } = ctx(res);
      const viewer = await actingViewer(db, identity, { documentId: id });
      const doc = await getDocument(db, viewer, id, { access: 'write', limits: deps.limits });
      if (!doc) throw documentNotFound(id);
      const superseded = supersededTarget(doc);
      if (superseded) throw supersededError(id, superseded);
      if (doc.status === 'failed' && doc.error && !doc.error.retryable) throw fileFailureError(doc, doc.error);
      if (doc.status === 'failed' && deps.models) {
        await checkUploadBudget(deps.models, db, ctx(res), doc.collection_id, [{ mime: doc.mime_type, byteSize: doc.byte_size }]);
      }
      const requeued = await db.transaction(async (tx) => {
        const target = doc.replaces_document_id;
        // The content's lock first, then a replacement's target: the order uploads take them in
        // (accept-upload.ts), so a retry and an upload of the same bytes see each other's outcome.
        await lockUploadHashes(tx, doc.collection_id, [doc.content_sha256]);
        // A replacement takes its document's lock next, as accepting and swapping replacements do.
        if (target && !(await lockReplacementTarget(tx, target, doc.collection_id))) return null;
        const newer = target ? await newerReplacement(tx, target, id) : null;
        if (target && newer) {
          throw new AppError('conflict', `A newer replacement (${newer}) of document ${target} was uploaded after this one; retry that one, or upload the file again with PUT /v1/documents/${target}.`, {
            exposed: { reason: 'newer_replacement', status: doc.status, document_id: target, newer_replacement_id: newer },
          });
        }
        const row = await requeueFailedDocument(tx, id, identity, traceId);
        if (!row) return null;
        // Checked once the requeue matched, which only a failed row does (any other state is answered
        // as such below); a refusal rolls the requeue back. The bytes are the row's as requeued.
        await checkRetryContent(tx, viewer, row.document, deps.limits);
        const payload: IngestDocumentPayload = { documentId: id, collectionId: row.document.collection_id, version: row.version, identity, traceId };
        const jobId = ingestDocumentJob.jobId(payload);
        await setJobId(tx, id, jobId);
        return { view: (await getDocument(tx, viewer, id, { limits: deps.limits })) ?? { ...row.document, job_id: jobId }, payload };
      });
      if (!requeued) {
        // Not failed (any more), or gone: read again so the answer names the state it is in now.
        const now = await getDocument(db, viewer, id, { access: 'write', limits: deps.limits });
        if (!now) throw documentNotFound(id);
        // Superseded since the check above: the requeue refused it.
        const supersededNow = supersededTarget(now);
        if (supersededNow) throw supersededError(id, supersededNow);
        throw notFailedError(now);
      }
      // Committed first: an enqueue lost here is picked up by the reconciler, as for uploads.
      await deps.queue.enqueue(requeued.payload).catch((error: unknown) => {
        deps.logger.warn('enqueue failed; the reconciler will retry', { trace_id: traceId, document_id: id, err: String(error) });
      });
      deps.logger.info('document retried', { trace_id: traceId, document_id: id, version: requeued.payload.version, previous_error: doc.error ? `${doc.error.code}: ${doc.error.message}` : null });
      res.status(202).json(requeued.view);
    }),
  );

  return router;
}
