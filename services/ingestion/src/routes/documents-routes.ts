import { Router } from 'express';
import { z } from 'zod';
import type { DocumentView } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, parseWith, type Logger } from '@quire/server-kit';
import { ingestDocumentJob, type IngestDocumentPayload } from '../jobs/ingest-document-job.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { IngestionLimits } from '../limits.js';
import { requireCollection } from '../repo/collections-repo.js';
import { decodeCursor, deleteDocument, getDocument, insertDocument, listDocuments, setJobId } from '../repo/documents-repo.js';
import { readUpload } from '../upload/read-upload.js';

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});

export function documentsRoutes(deps: { db: Db; queue: JobQueue<IngestDocumentPayload>; limits: IngestionLimits; logger: Logger }): Router {
  const { db } = deps;
  const router = Router();

  router.post(
    '/v1/collections/:id/documents',
    handle(async (req, res) => {
      const { identity, traceId } = ctx(res);
      // Checked before reading the body, so a wrong id costs no upload buffering.
      const collection = await requireCollection(db, identity.team_id, String(req.params.id));
      const items = await readUpload(req, res, deps.limits);

      // Rows and bytes commit before anything is enqueued: a job never sees a missing document,
      // and an enqueue that fails after commit is picked up by the reconciler.
      const accepted = await db.transaction(async (tx) => {
        const out: { view: DocumentView; payload: IngestDocumentPayload }[] = [];
        for (const item of items) {
          const view = await insertDocument(tx, { ...item, collectionId: collection.id, teamId: identity.team_id, identity, traceId });
          const payload: IngestDocumentPayload = { documentId: view.id, collectionId: collection.id, version: 1, identity, traceId };
          view.job_id = ingestDocumentJob.jobId(payload);
          await setJobId(tx, view.id, view.job_id);
          out.push({ view, payload });
        }
        return out;
      });
      for (const { payload } of accepted) {
        await deps.queue.enqueue(payload).catch((error: unknown) => {
          deps.logger.warn('enqueue failed; the reconciler will retry', { trace_id: traceId, document_id: payload.documentId, err: String(error) });
        });
      }
      res.status(202).json({ documents: accepted.map((a) => a.view) });
    }),
  );

  router.get(
    '/v1/collections/:id/documents',
    handle(async (req, res) => {
      const collection = await requireCollection(db, ctx(res).identity.team_id, String(req.params.id));
      const query = parseWith(ListQuerySchema, req.query, 'query');
      const after = query.cursor ? decodeCursor(query.cursor) : null;
      if (query.cursor && !after) throw new AppError('invalid_request', 'The cursor is not valid.', { param: 'cursor' });
      res.json({ object: 'list', ...(await listDocuments(db, collection.id, query.limit, after)) });
    }),
  );

  router.get(
    '/v1/documents/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const doc = await getDocument(db, ctx(res).identity.team_id, id);
      if (!doc) throw new AppError('document_not_found', `No document ${id}.`);
      res.json(doc);
    }),
  );

  router.delete(
    '/v1/documents/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      if (!(await deleteDocument(db, ctx(res).identity.team_id, id))) throw new AppError('document_not_found', `No document ${id}.`);
      res.json({ id, object: 'document', deleted: true });
    }),
  );

  return router;
}
