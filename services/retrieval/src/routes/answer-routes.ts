import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { AnswerBodySchema, MultiAnswerBodySchema, UuidSchema } from '@quire/contracts';
import { ctx, handle, openSse, paramsOf, parseWith, toErrorResponse, type Logger, type SseStream, exactRouter } from '@quire/server-kit';
import { answerQuestion, requireGenerationModel } from '../answer/answer-pipeline.js';
import { collectionNotFound, loadCollection, loadCollections } from '../collections/collection-repository.js';
import { isAbort, toAppErrorOrInternal } from '../errors.js';
import { resolveMode, type SearchDeps } from '../search/search-pipeline.js';

const IdParams = z.object({ id: UuidSchema });

export function answerRoutes(deps: SearchDeps, logger: Logger): Router {
  const router = exactRouter();
  const answer = (multi: boolean) =>
    handle(async (req, res) => {
      const multiBody = multi ? parseWith(MultiAnswerBodySchema, req.body) : null;
      const body = multiBody ?? parseWith(AnswerBodySchema, req.body);
      const { identity, identityToken, traceId } = ctx(res);
      const collections = multiBody ? await loadCollections(deps.db, identity.team_id, multiBody.collection_ids, { grants: true }) : [await loadCollection(deps.db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, { grants: true })];
      const collection = collections[0]!;
      // Checked before any SSE byte goes out, so configuration errors stay plain HTTP errors.
      requireGenerationModel(collection);
      if (!multiBody) resolveMode(collection, body.mode);
      const queryId = randomUUID();
      const abort = new AbortController();
      const call = { identityToken, traceId, ...(multi ? {} : { collectionId: collection.id }), queryId };
      const input = { collection, collections, body, identity, queryId, call, abortSignal: abort.signal };

      // A caller that goes away stops the generation; the gateway meters what was produced.
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      if (!body.stream) {
        res.json(await answerQuestion(deps, input));
        return;
      }

      // The stream opens with the first event, `retrieval`, once the search is done: an error before
      // it (a provider's 429 while embedding the question, a rewrite that failed) is answered as the
      // JSON answer's is, with its HTTP status and headers (retry-after), by the error middleware.
      let sse = undefined as SseStream | undefined;
      try {
        const sink = (event: string, data: unknown) => {
          sse ??= openSse(res);
          sse.send(data, event);
          return sse.ready();
        };
        const result = await answerQuestion(deps, { ...input, sink });
        sse ??= openSse(res);
        sse.send({ query_id: queryId, finish_reason: result.finish_reason, timings_ms: result.timings_ms }, 'done');
      } catch (error) {
        if (!sse) throw error;
        if (sse.closed || isAbort(error, abort.signal)) {
          logger.info('answer cancelled by the caller', { trace_id: traceId, query_id: queryId });
        } else {
          const appError = toAppErrorOrInternal(error);
          const { status, body: errorBody } = toErrorResponse(appError, traceId);
          if (status >= 500) logger.error('answer failed', { trace_id: traceId, query_id: queryId, code: appError.code, err: String((error as Error)?.stack ?? error) });
          sse.send({ error: { code: errorBody.error.code, message: errorBody.error.message } }, 'error');
        }
      } finally {
        sse?.end();
      }
    });
  router.post('/v1/collections/:id/answer', answer(false));
  router.post('/v1/answer', answer(true));
  return router;
}
