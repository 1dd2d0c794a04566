import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { AnswerBodySchema, MultiAnswerBodySchema, UuidSchema } from '@quire/contracts';
import { ctx, handle, openSse, paramsOf, parseWith, toErrorResponse, type Logger, exactRouter } from '@quire/server-kit';
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

      if (!body.stream) {
        res.on('close', () => {
          if (!res.writableFinished) abort.abort();
        });
        res.json(await answerQuestion(deps, input));
        return;
      }

      const sse = openSse(res);
      // A caller that goes away stops the generation; the gateway meters what was produced.
      sse.onClose(() => abort.abort());
      try {
        const sink = (event: string, data: unknown) => {
          sse.send(data, event);
          return sse.ready();
        };
        const result = await answerQuestion(deps, { ...input, sink });
        sse.send({ query_id: queryId, timings_ms: result.timings_ms }, 'done');
      } catch (error) {
        if (sse.closed || isAbort(error, abort.signal)) {
          logger.info('answer cancelled by the caller', { trace_id: traceId, query_id: queryId });
        } else {
          const appError = toAppErrorOrInternal(error);
          const { status, body: errorBody } = toErrorResponse(appError, traceId);
          if (status >= 500) logger.error('answer failed', { trace_id: traceId, query_id: queryId, code: appError.code, err: String((error as Error)?.stack ?? error) });
          sse.send({ error: { code: errorBody.error.code, message: errorBody.error.message } }, 'error');
        }
      } finally {
        sse.end();
      }
    });
  router.post('/v1/collections/:id/answer', answer(false));
  router.post('/v1/answer', answer(true));
  return router;
}
