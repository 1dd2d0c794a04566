import type { Router } from 'express';
import { z } from 'zod';
import { isOrgAdmin, QueryFeedbackBodySchema, SearchSettingsSchema, UuidSchema } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { collectionNotFound, loadCollection, ownerReach, saveSearchSettings } from '../collections/collection-repository.js';
import { deleteQuery, findQuery } from '../queries/query-repository.js';
import { addFeedback, collectionQueryStats, feedbackFor } from '../queries/query-stats.js';
import { usageForQuery } from '../usage/ledger-usage.js';

const StatsQuerySchema = z.object({ since: z.string().datetime({ offset: true }).optional() });
const IdParams = z.object({ id: UuidSchema });

/** The 404 of a query the caller may not read or delete (`findQuery`, `deleteQuery`), a malformed id included. */
export const queryNotFound = (id: string) => new AppError('query_not_found', `No query ${id}.`, { param: 'id' });

export interface QueryRoutesOptions {
  /** Told after a collection's `search_settings.language` change commits (see RetrievalServiceDeps). */
  keywordIndexChanged?: (collectionId: string) => void;
}

export function queryRoutes(db: Db, options: QueryRoutesOptions = {}): Router {
  const router = exactRouter();
  router.get(
    '/v1/queries/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: queryNotFound });
      const query = await findQuery(db, ctx(res).identity, id);
      if (!query) throw queryNotFound(id);
      // Usage is read from the ledger now, so calls metered after the response (streams) count too.
      res.json({ ...query, usage: await usageForQuery(db, query.id), feedback: await feedbackFor(db, query.id) });
    }),
  );
  // The asker, a knowledge admin of its team, or an organisation admin (`deleterSql`); anyone else
  // gets the 404 a read gets. The gateway's platformGuard lets every role through on /v1/queries.
  router.delete(
    '/v1/queries/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: queryNotFound });
      if (!(await deleteQuery(db, ctx(res).identity, id))) throw queryNotFound(id);
      res.json({ id, object: 'query', deleted: true });
    }),
  );
  router.post(
    '/v1/queries/:id/feedback',
    handle(async (req, res) => {
      const body = parseWith(QueryFeedbackBodySchema, req.body);
      const { identity } = ctx(res);
      const { id } = paramsOf(req, IdParams, { id: queryNotFound });
      const query = await findQuery(db, identity, id);
      if (!query) throw queryNotFound(id);
      // Deleted since it was read: the 404 a read now gets.
      if (!(await addFeedback(db, identity.team_id, identity.key_id, query.id, body.rating, body.comment))) throw queryNotFound(id);
      res.status(201).json({ query_id: query.id, rating: body.rating });
    }),
  );
  router.get(
    '/v1/collections/:id/query-stats',
    handle(async (req, res) => {
      const { since } = parseWith(StatsQuerySchema, req.query);
      const { identity } = ctx(res);
      // Granted teams reach it too, for their own queries' figures; an organisation admin sees the owner's view.
      const reach = isOrgAdmin(identity) ? ownerReach(identity) : { grants: true };
      const collection = await loadCollection(db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, reach);
      const teamId = isOrgAdmin(identity) ? collection.teamId : identity.team_id;
      res.json(await collectionQueryStats(db, collection.id, { teamId, owner: teamId === collection.teamId }, since ?? null));
    }),
  );
  router.put(
    '/v1/collections/:id/search-settings',
    handle(async (req, res) => {
      const settings = parseWith(SearchSettingsSchema, req.body);
      const { identity, traceId } = ctx(res);
      const saved = await saveSearchSettings(db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, settings, ownerReach(identity), { team_id: identity.team_id, key_id: identity.key_id, requestId: traceId });
      // Committed: the keyword index is rebuilt for the new language (by ingestion, in the background).
      if (saved.languageChanged) options.keywordIndexChanged?.(saved.collectionId);
      res.json(settings);
    }),
  );
  return router;
}
