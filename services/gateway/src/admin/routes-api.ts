import express, { type Router } from 'express';
import { AppError, handle, parseWith } from '@quire/server-kit';
import { requireAdmin } from '../caller-identity.js';
import { ROUTE_NAME, RouteSchema } from '../routing/route-config.js';
import type { RouteStore, RouteView } from '../routing/route-store.js';

function routeName(raw: string | string[] | undefined): string {
  const name = String(raw ?? '');
  if (!ROUTE_NAME.test(name)) throw new AppError('invalid_request', 'Route names are letters, digits and _ . : - (no slash).', { param: 'name' });
  return name;
}

const present = (v: RouteView) => ({ name: v.name, source: v.source, ...v.route, ...(v.updated_at ? { updated_at: v.updated_at, updated_by: v.updated_by } : {}) });

/**
 * `GET/PUT/DELETE /v1/admin/routes[/:name]`: routes changed at run time, stored in the database,
 * overriding the routes file. Admins only.
 */
export function routesAdminRouter(store: RouteStore): Router {
  const router = express.Router();
  router.use('/v1/admin', (_req, res, next) => {
    try {
      requireAdmin(res);
      next();
    } catch (error) {
      next(error);
    }
  });
  router.get('/v1/admin/routes', handle(async (_req, res) => {
    res.json({ object: 'list', data: (await store.list()).map(present) });
  }));
  router.get('/v1/admin/routes/:name', handle(async (req, res) => {
    const view = await store.view(routeName(req.params.name));
    if (!view) throw new AppError('not_found', `No route named "${req.params.name}".`);
    res.json(present(view));
  }));
  router.put('/v1/admin/routes/:name', handle(async (req, res) => {
    const name = routeName(req.params.name);
    const route = parseWith(RouteSchema, req.body, 'route');
    const identity = requireAdmin(res);
    res.json(present(await store.put(name, route, identity.key_id)));
  }));
  router.delete('/v1/admin/routes/:name', handle(async (req, res) => {
    const name = routeName(req.params.name);
    const identity = requireAdmin(res);
    if (!(await store.delete(name, identity.key_id))) throw new AppError('not_found', `No route named "${name}".`);
    res.json({ name, deleted: true });
  }));
  return router;
}
