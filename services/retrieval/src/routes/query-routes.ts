import type { Router } from 'express';
import { z } from 'zod';
import { QueryFeedbackBodySchema, SearchSettingsSchema } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, parseWith, exactRouter } from '@quire/server-kit';
import { loadCollection, ownerReach, saveSearchSettings } from '../collections/collection-repository.js';
import { findQuery } from '../queries/query-repository.js';
import { addFeedback, collectionQueryStats, feedbackFor } from '../queries/query-stats.js';
import { usageForQuery } from '../usage/ledger-usage.js';

const StatsQuerySchema = z.object({ since: z.string().datetime({ offset: true }).optional() });

export function queryRoutes(db: Db): Router {
  const router = exactRouter();
  router.get(
    '/v1/queries/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const query = await findQuery(db, ctx(res).identity, id);
      if (!query) throw new AppError('query_not_found', `No query ${id}.`, { param: 'id' });
      // Usage is read from the ledger now, so calls metered after the response (streams) count too.
      res.json({ ...query, usage: await usageForQuery(db, query.id), feedback: await feedbackFor(db, query.id) });
    }),
  );
  router.post(
    '/v1/queries/:id/feedback',
    handle(async (req, res) => {
      const body = parseWith(QueryFeedbackBodySchema, req.body);
      const { identity } = ctx(res);
      const id = String(req.params.id);
      const query = await findQuery(db, identity, id);
      if (!query) throw new AppError('query_not_found', `No query ${id}.`, { param: 'id' });
      await addFeedback(db, identity.team_id, identity.key_id, query.id, body.rating, body.comment);
      res.status(201).json({ query_id: query.id, rating: body.rating });
    }),
  );
  router.get(
    '/v1/collections/:id/query-stats',
    handle(async (req, res) => {
      const { since } = parseWith(StatsQuerySchema, req.query);
      const { identity } = ctx(res);
      const collection = await loadCollection(db, identity.team_id, String(req.params.id), ownerReach(identity));
      res.json(await collectionQueryStats(db, collection.id, since ?? null));
    }),
  );
  router.put(
    '/v1/collections/:id/search-settings',
    handle(async (req, res) => {
      const settings = parseWith(SearchSettingsSchema, req.body);
      const { identity } = ctx(res);
      await saveSearchSettings(db, identity.team_id, String(req.params.id), settings, ownerReach(identity));
      res.json(settings);
    }),
  );
  return router;
}
