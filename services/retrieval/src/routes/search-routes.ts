import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { MultiSearchBodySchema, SearchBodySchema, UuidSchema, type FusionPreset, type FusionSettings, type SearchResponse } from '@quire/contracts';
import { ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { collectionNotFound, loadCollection, loadCollections } from '../collections/collection-repository.js';
import { toAppErrorOrInternal } from '../errors.js';
import { insertQuery } from '../queries/query-repository.js';
import { resolveMode, runMultiSearch, runSearch, toSearchResult, type SearchDeps, type SearchTuning } from '../search/search-pipeline.js';
import { usageForQuery } from '../usage/ledger-usage.js';

const IdParams = z.object({ id: UuidSchema });

export function searchRoutes(deps: SearchDeps): Router {
  const router = exactRouter();
  router.post(
    '/v1/collections/:id/search',
    handle(async (req, res) => {
      const body = parseWith(SearchBodySchema, req.body);
      const { identity, identityToken, traceId } = ctx(res);
      const collection = await loadCollection(deps.db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, { grants: true });
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
          filters: { ...body.filters, accessGroups: identity.groups },
          ...tuningOf(body),
          call: { identityToken, traceId, collectionId: collection.id, queryId },
          abortSignal: abort.signal,
        });
      } catch (error) {
        const status = abort.signal.aborted ? 'cancelled' : 'error';
        await insertQuery(deps.db, { ...base, status, results: [], timings: {} }).catch(() => undefined);
        throw toAppErrorOrInternal(error);
      }
      await insertQuery(deps.db, { ...base, models: outcome.models, status: 'ok', results: outcome.results, trace: outcome.trace, timings: outcome.timings });
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
  router.post(
    '/v1/search',
    handle(async (req, res) => {
      const body = parseWith(MultiSearchBodySchema, req.body);
      const { identity, identityToken, traceId } = ctx(res);
      const collections = await loadCollections(deps.db, identity.team_id, body.collection_ids, { grants: true });
      const queryId = randomUUID();
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      const base = { id: queryId, identity, collectionId: collections[0]!.id, collectionIds: collections.map((c) => c.id), kind: 'search' as const, query: body.query, mode: body.mode ?? null, models: {} };
      let outcome;
      try {
        outcome = await runMultiSearch(deps, {
          collections,
          query: body.query,
          topK: body.top_k,
          ...(body.mode ? { mode: body.mode } : {}),
          filters: { ...body.filters, accessGroups: identity.groups },
          ...tuningOf(body),
          // No single collection to attribute the embed call to: the query id ties the ledger rows.
          call: { identityToken, traceId, queryId },
          abortSignal: abort.signal,
        });
      } catch (error) {
        await insertQuery(deps.db, { ...base, status: abort.signal.aborted ? 'cancelled' : 'error', results: [], timings: {} }).catch(() => undefined);
        throw toAppErrorOrInternal(error);
      }
      await insertQuery(deps.db, { ...base, mode: outcome.mode, models: outcome.models, status: 'ok', results: outcome.results, trace: outcome.trace, timings: outcome.timings });
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

/** The request's fusion and rerank overrides, without undefined keys. */
export function tuningOf(body: { preset?: FusionPreset | undefined; fusion?: FusionSettings | undefined; rerank?: boolean | { candidates?: number | undefined } | undefined }): SearchTuning {
  return {
    ...(body.preset ? { preset: body.preset } : {}),
    ...(body.fusion ? { fusion: body.fusion } : {}),
    ...(body.rerank !== undefined ? { rerank: typeof body.rerank === 'boolean' ? body.rerank : { ...(body.rerank.candidates ? { candidates: body.rerank.candidates } : {}) } } : {}),
  };
}
