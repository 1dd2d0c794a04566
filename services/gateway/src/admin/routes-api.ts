import type { Router } from 'express';
import { z } from 'zod';
import { emptyUsage } from '@quire/models';
import { AppError, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { requireAdmin } from '../caller-identity.js';
import type { AuditLog } from '../governance/audit.js';
import type { ModelResolver } from '../model-catalog.js';
import type { ModelCatalog } from '../model-service.js';
import { ROUTE_NAME, RouteSchema, type Route } from '../routing/route-config.js';
import type { RouteStore, RouteView } from '../routing/route-store.js';
import { change } from './admin-common.js';

const NameParams = z.object({ name: z.string().regex(ROUTE_NAME) });
const badName = () => new AppError('invalid_request', 'Route names are letters, digits and _ . : - (no slash).', { param: 'name' });

const present = (v: RouteView) => ({ name: v.name, source: v.source, ...v.route, ...(v.updated_at ? { updated_at: v.updated_at, updated_by: v.updated_by } : {}) });

type RoutesCatalog = ModelCatalog & ModelResolver & { selfHosted?(name: string): boolean };

/**
 * A route whose target the registry cannot resolve fails every call routed to it, so it is refused
 * here (400, naming the targets), not found out by callers. A target without a price is allowed,
 * with a warning in the answer: callers under a budget are refused it (`model_unpriced`) unless the
 * gateway allows unpriced models, and other callers' calls are metered with cost null. A
 * self-hosted provider's model costs nothing and is not warned about.
 */
function checkTargets(catalog: RoutesCatalog, route: Route): string[] {
  const targets = [
    ...route.targets.map((t, i) => ({ model: t.model, param: `targets.${i}` })),
    ...(route.downgrade?.targets ?? []).map((t, i) => ({ model: t.model, param: `downgrade.targets.${i}` })),
  ];
  const bad = targets.map((t) => ({ ...t, reason: catalog.resolveProblem(t.model) })).filter((t) => t.reason !== null);
  if (bad.length > 0) {
    throw new AppError('invalid_request', `Unknown route target${bad.length > 1 ? 's' : ''}: ${bad.map((t) => `"${t.model}" (${t.reason})`).join('; ')}`, {
      param: bad[0]!.param,
      details: { targets: bad.map((t) => t.model) },
    });
  }
  const unpriced = [...new Set(targets.map((t) => t.model))].filter((m) => catalog.costOf(m, { ...emptyUsage(), inputTokens: 1 }) === null && !catalog.selfHosted?.(m));
  return unpriced.map(
    (m) => `Target "${m}" has no price: callers under a budget are refused it (model_unpriced) until it is priced in QUIRE_PRICING_JSON or QUIRE_BUDGETS_ALLOW_UNPRICED=true; other callers' calls are metered with cost null.`,
  );
}

/**
 * `GET/PUT/DELETE /v1/admin/routes[/:name]`: routes changed at run time, stored in the database,
 * overriding the routes file. Admins only; every change commits with its audit row (before and after).
 */
export function routesAdminRouter(store: RouteStore, catalog: RoutesCatalog, audit: AuditLog): Router {
  const router = exactRouter();
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
    const { name } = paramsOf(req, NameParams, { name: badName });
    const view = await store.view(name);
    if (!view) throw new AppError('not_found', `No route named "${name}".`);
    res.json(present(view));
  }));
  router.put('/v1/admin/routes/:name', handle(async (req, res) => {
    const { name } = paramsOf(req, NameParams, { name: badName });
    const route = parseWith(RouteSchema, req.body, 'route');
    const warnings = checkTargets(catalog, route);
    const identity = requireAdmin(res);
    // The change and its audit row commit together.
    const after = await store.transaction(async (routes, tx) => {
      const { before, after } = await routes.put(name, route, identity.key_id);
      await audit.write(change(res, before ? 'route.update' : 'route.create', 'route', name, before ? present(before) : null, present(after)), tx);
      return present(after);
    });
    res.json({ ...after, warnings });
  }));
  router.delete('/v1/admin/routes/:name', handle(async (req, res) => {
    const { name } = paramsOf(req, NameParams, { name: badName });
    const identity = requireAdmin(res);
    await store.transaction(async (routes, tx) => {
      const before = await routes.delete(name, identity.key_id);
      if (!before) throw new AppError('not_found', `No route named "${name}".`);
      await audit.write(change(res, 'route.delete', 'route', name, present(before), null), tx);
    });
    res.json({ name, deleted: true });
  }));
  return router;
}
