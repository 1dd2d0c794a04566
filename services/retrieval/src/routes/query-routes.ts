import { Router } from 'express';
import type { Db } from '@quire/db';
import { AppError, ctx, handle } from '@quire/server-kit';
import { findQuery } from '../queries/query-repository.js';
import { usageForQuery } from '../usage/ledger-usage.js';

export function queryRoutes(db: Db): Router {
  const router = Router();
  router.get(
    '/v1/queries/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const query = await findQuery(db, ctx(res).identity.team_id, id);
      if (!query) throw new AppError('query_not_found', `No query ${id}.`, { param: 'id' });
      // Usage is read from the ledger now, so calls metered after the response (streams) count too.
      res.json({ ...query, usage: await usageForQuery(db, query.id) });
    }),
  );
  return router;
}
