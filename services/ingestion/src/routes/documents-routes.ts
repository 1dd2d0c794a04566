import type { Response, Router } from 'express';
import { ListDocumentsQuerySchema, UpdateDocumentBodySchema } from '@quire/contracts';
import { AppError, ctx, handle, openSse, paramsOf, parseStrict, toErrorResponse, exactRouter } from '@quire/server-kit';
import { requireCollection } from '../repo/collections-repo.js';
import { deleteDocument, getDocument, listDocuments, updateDocument, type IngestionDocumentView } from '../repo/documents-repo.js';
import { acceptUpload, type AcceptUploadDeps } from '../upload/accept-upload.js';
import { uploadHandler, type UploadMemory } from '../upload/upload-memory.js';
import { actingViewer } from './acting-viewer.js';
import { collectionNotFound, documentNotFound, IdParams } from './path-params.js';
import { progressStreamCaps, type ProgressStreamCap } from './progress-stream-caps.js';

/** Where uploads are sent: the routes below, and the upload memory's gate in front of body parsing. */
const UPLOAD_PATHS = { create: '/v1/collections/:id/documents', replace: '/v1/documents/:id' } as const;

/**
 * Takes each upload's room in the upload memory before its body is read. Mounted ahead of the JSON
 * parser (createServiceApp's `beforeBody`), which reads JSON uploads before any route runs.
 */
export function uploadMemoryGate(memory: UploadMemory): Router {
  const router = exactRouter();
  router.post(UPLOAD_PATHS.create, memory.reserve);
  router.put(UPLOAD_PATHS.replace, memory.reserve);
  return router;
}

/** What the routes need: exactly what accepting an upload needs. */
type Deps = AcceptUploadDeps;

export function documentsRoutes(deps: Deps): Router {
  const { db } = deps;
  const router = exactRouter();

  router.post(
    UPLOAD_PATHS.create,
    uploadHandler(deps.logger, async (req, res) => {
      // Checked before reading a multipart body, so a wrong id costs no upload buffering. Own or write-granted.
      const { id } = paramsOf(req, IdParams, { id: collectionNotFound });
      const viewer = await actingViewer(db, ctx(res).identity, { collectionId: id });
      const collection = await requireCollection(db, viewer, id, 'write');
      await acceptUpload(deps, req, res, viewer, collection.id, null);
    }),
  );

  router.put(
    UPLOAD_PATHS.replace,
    uploadHandler(deps.logger, async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const viewer = await actingViewer(db, ctx(res).identity, { documentId: id });
      const doc = await getDocument(db, viewer, id, { access: 'write', limits: deps.limits });
      if (!doc) throw documentNotFound(id);
      await acceptUpload(deps, req, res, viewer, doc.collection_id, id);
    }),
  );

  /**
   * A page of the collection's documents the caller may see, filtered by `status`, `replacement_status`,
   * `tag` and `name` (ListDocumentsQuerySchema); an unknown parameter or a bad value is a 400 naming it.
   */
  router.get(
    '/v1/collections/:id/documents',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: collectionNotFound });
      const viewer = await actingViewer(db, ctx(res).identity, { collectionId: id });
      const collection = await requireCollection(db, viewer, id, 'read');
      const query = parseStrict(ListDocumentsQuerySchema, req.query, 'query');
      res.json({ object: 'list', ...(await listDocuments(db, collection.id, query, viewer, deps.limits)) });
    }),
  );

  /**
   * A document, or a replacement upload (PUT). A replacement's id keeps answering 200 after its
   * content is swapped in: `status: 'ready'` with `document_id` (and a `Content-Location` header)
   * naming the document that now holds the content, which is where to read it. Before that it shows
   * its own progress, or `failed` with the reason (`error.code: 'superseded'` when a newer replacement
   * was accepted first); a failed one answers until a later replacement succeeds or the document is
   * deleted. A document shows its latest pending or failed replacement as `replacement`.
   */
  router.get(
    '/v1/documents/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const doc = await getDocument(db, await actingViewer(db, ctx(res).identity, { documentId: id }), id, { limits: deps.limits });
      if (!doc) throw documentNotFound(id);
      if (doc.document_id && doc.status === 'ready') res.setHeader('content-location', `/v1/documents/${doc.document_id}`);
      res.json(doc);
    }),
  );

  const streams = progressStreamCaps(deps.limits);

  /**
   * A refused stream is the caller's or the load's doing, not a fault: logged at warn, and answered
   * here rather than through the error middleware, which logs every 5xx as a failure with its stack.
   */
  const refuseStream = (res: Response, refused: ProgressStreamCap, open: number, retryMs: number) => {
    const headers = { 'retry-after': String(Math.ceil(retryMs / 1000)) };
    const poll = 'poll GET /v1/documents/:id instead, or retry once one of them has ended';
    const error =
      refused === 'process'
        ? new AppError('service_unavailable', 'Too many progress streams are open; poll GET /v1/documents/:id or retry shortly.', { headers })
        : new AppError('rate_limit_exceeded', `${refused === 'key' ? 'This API key' : 'Your team'} has ${open} progress streams open, the most allowed; ${poll}.`, { headers });
    const { identity, traceId } = ctx(res);
    deps.logger.warn('progress stream refused', { trace_id: traceId, cap: refused, open, key_id: identity.key_id, team_id: identity.team_id });
    const answer = toErrorResponse(error, traceId);
    res.set(answer.headers).status(answer.status).json(answer.body);
  };

  /**
   * Live progress as server-sent events: `progress` whenever stage, pages or chunks change, and a
   * final `done` with the final state (or `deleted`). For a replacement upload, `done` carries
   * `status: 'ready'` and `document_id`, the document now holding its content. The stream reads
   * Postgres every `eventsPollMs`, so it follows a job running in any process; a comment line every
   * `eventsKeepAliveMs` keeps proxies from closing a quiet stream. After `eventsMaxStreamMs` it ends
   * with a `reconnect` event (`reason: 'max_duration'`) carrying the SSE `retry:` field: an EventSource
   * reconnects by itself and gets the current state first. A stopping server ends its streams at once
   * the same way (`reason: 'shutdown'`) instead of holding its stop until the drain deadline: the
   * client comes back to another replica or the restarted service. A key beyond
   * `eventsMaxStreamsPerKey` open streams, or a team beyond `eventsMaxStreamsPerTeam`, is refused a
   * new one (429); beyond `eventsMaxStreams` in the process, anyone is (503). Counted before the
   * document is looked up, so a refusal costs no query.
   */
  router.get(
    '/v1/documents/:id/events',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const { eventsPollMs, eventsKeepAliveMs, eventsMaxStreamMs } = deps.limits;
      const retryMs = Math.max(1000, eventsPollMs);
      const place = streams.open(ctx(res).identity);
      if ('refused' in place) return refuseStream(res, place.refused, place.open, retryMs);
      // Every way out below, a thrown lookup included, passes the finally: the place is given back once.
      try {
        const viewer = await actingViewer(db, ctx(res).identity, { documentId: id });
        const first = await getDocument(db, viewer, id, { limits: deps.limits });
        if (!first) throw documentNotFound(id);
        const sse = openSse(res);
        let wake: () => void = () => undefined;
        sse.onClose(() => wake());
        sse.onDrain(() => wake());
        const started = Date.now();
        const deadline = started + eventsMaxStreamMs;
        let nextPoll = started + eventsPollMs;
        let lastWrite = started;
        let last = '';
        let doc: IngestionDocumentView | null = first;
        while (!sse.closed) {
          if (!doc) {
            sse.send({ id, deleted: true }, 'deleted');
            break;
          }
          const { stage, pages_parsed, pages_total, chunks_total, chunks_embedded, embedding, attempts, stalled } = doc.progress;
          const key = JSON.stringify([doc.status, stage, pages_parsed, pages_total, chunks_total, chunks_embedded, embedding, attempts, stalled]);
          if (key !== last) {
            last = key;
            sse.send({ id, status: doc.status, progress: doc.progress, error: doc.error }, 'progress');
            lastWrite = Date.now();
          }
          if (doc.status === 'ready' || doc.status === 'failed') {
            sse.send(doc, 'done');
            break;
          }
          const now = Date.now();
          const reconnect = sse.draining ? 'shutdown' : now >= deadline ? 'max_duration' : null;
          if (reconnect) {
            sse.send({ id, reason: reconnect, retry_ms: retryMs }, 'reconnect', { retryMs });
            break;
          }
          if (now - lastWrite >= eventsKeepAliveMs) {
            sse.comment('keep-alive');
            lastWrite = now;
          }
          // Until the next poll, keep-alive or the deadline, whichever is first; the client leaving or the server stopping wakes it.
          const sleep = Math.max(0, Math.min(nextPoll, deadline, lastWrite + eventsKeepAliveMs) - now);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, sleep);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          if (!sse.closed && Date.now() >= nextPoll) {
            doc = await getDocument(db, viewer, id, { limits: deps.limits });
            nextPoll = Date.now() + eventsPollMs;
          }
        }
        sse.end();
      } finally {
        place.release();
      }
    }),
  );

  /**
   * A document's title and metadata, changed without a new upload (UpdateDocumentBodySchema; metadata
   * replaces the whole object). Who may replace or delete the document may do this (own or
   * `write`-granted collection, and it may see the document; the gateway lets knowledge-admins and
   * admins send it); anyone else meets it as missing. Answers the document as stored; audited
   * (`document.update`) as the audit row of a delete is.
   */
  router.patch(
    '/v1/documents/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const body = parseStrict(UpdateDocumentBodySchema, req.body, 'request body');
      const { identity, traceId } = ctx(res);
      const by = { team_id: identity.team_id, key_id: identity.key_id, requestId: traceId };
      const doc = await updateDocument(db, await actingViewer(db, identity, { documentId: id }), id, body, by, deps.limits);
      if (!doc) throw documentNotFound(id);
      res.json(doc);
    }),
  );

  router.delete(
    '/v1/documents/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: documentNotFound });
      const { identity, traceId } = ctx(res);
      // The audit row names the caller (an organisation admin as itself), not the team it acts for.
      const by = { team_id: identity.team_id, key_id: identity.key_id, requestId: traceId };
      if (!(await deleteDocument(db, await actingViewer(db, identity, { documentId: id }), id, by))) throw documentNotFound(id);
      res.json({ id, object: 'document', deleted: true });
    }),
  );

  return router;
}
