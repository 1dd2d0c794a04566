import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { SearchBodySchema, type SearchResponse } from '@quire/contracts';
import { ctx, handle, parseWith } from '@quire/server-kit';
import { loadCollection } from '../collections/collection-repository.js';
import { toAppError } from '../errors.js';
import { insertQuery } from '../queries/query-repository.js';
import { resolveMode, runSearch, toSearchResult, type SearchDeps } from '../search/search-pipeline.js';
import { usageForQuery } from '../usage/ledger-usage.js';

export function searchRoutes(deps: SearchDeps): Router {
  const router = Router();
  router.post(
    '/v1/collections/:id/search',
    handle(async (req, res) => {
      const body = parseWith(SearchBodySchema, req.body);
      const { identity, identityToken, traceId } = ctx(res);
      const collection = await loadCollection(deps.db, identity.team_id, String(req.params.id));
      const mode = resolveMode(collection, body.mode);
      // Made before any model call so every ledger row of this search carries it.
      const queryId = randomUUID();
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      const base = { id: queryId, identity, collectionId: collection.id, kind: 'search' as const, query: body.query, mode, models: { embedding: collection.embeddingModel } };
      let outcome;
      try {
        outcome = await runSearch(deps, {
          collection,
          query: body.query,
          topK: body.top_k,
          mode,
          ...(body.filters ? { filters: body.filters } : {}),
          call: { identityToken, traceId, collectionId: collection.id, queryId },
          abortSignal: abort.signal,
        });
      } catch (error) {
        const status = abort.signal.aborted ? 'cancelled' : 'error';
        await insertQuery(deps.db, { ...base, status, results: [], timings: {} }).catch(() => undefined);
        throw toAppError(error);
      }
      await insertQuery(deps.db, { ...base, status: 'ok', results: outcome.results, timings: outcome.timings });
      const response: SearchResponse = {
        query_id: queryId,
        mode: outcome.mode,
        results: outcome.results.map(toSearchResult),
        usage: await usageForQuery(deps.db, queryId),
        timings_ms: outcome.timings,
      };
      res.json(response);
    }),
  );
  return router;
}
