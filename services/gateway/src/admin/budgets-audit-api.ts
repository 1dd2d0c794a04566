import express, { type Router } from 'express';
import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import { AppError, handle, paramsOf, parseStrict, parseWith, exactRouter } from '@quire/server-kit';
import { requireAdmin, type CallerLocals } from '../caller-identity.js';
import type { Governance } from '../governance/governance.js';
import { decodeCursor } from '../governance/store.js';
import { csvCell } from '../csv.js';
import { change, PageQuery } from './admin-common.js';
import { webhookUrlProblem } from '../governance/alert-webhook.js';

const Decimal = z.string().regex(/^\d{1,12}(\.\d{1,12})?$/, 'a decimal string of USD such as "25" or "0.50"');
const PutBudget = z.object({
  scope: z.enum(['team', 'key']),
  scope_id: z.string().min(1).max(100),
  period: z.enum(['day', 'month']),
  limit_usd: Decimal,
  // Omitted: kept from the budget being changed (0.8 and none for a new one); `alert_webhook: null` removes it.
  soft_fraction: z.number().gt(0).max(1).optional(),
  alert_webhook: z
    .string()
    .max(2000)
    .superRefine((value, issue) => {
      const problem = webhookUrlProblem(value);
      if (problem) issue.addIssue({ code: 'custom', message: `alert_webhook: ${problem}` });
    })
    .nullable()
    .optional(),
}).strict();
const DEFAULT_SOFT_FRACTION = '0.8';
const BudgetsQuery = PageQuery.extend({ scope: z.enum(['team', 'key']).optional(), scope_id: z.string().max(100).optional() });
const MAX_BIGINT = 2n ** 63n - 1n;
const AuditQuery = PageQuery.extend({
  format: z.enum(['json', 'jsonl', 'csv']).default('json'),
  action: z.string().max(200).optional(),
  outcome: z.enum(['ok', 'refused']).optional(),
  team: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  // An audit row id: Postgres would refuse one past bigint with a 500.
  cursor: z.string().regex(/^\d{1,19}$/, 'an audit row id (from x-next-cursor)').refine((v) => BigInt(v) <= MAX_BIGINT, 'an audit row id (from x-next-cursor)').optional(),
});
const PutGrant = z.object({ access: z.enum(['read', 'write']) }).strict();
/** Budgets and collections have UUID ids: any other `:id` is one no row has (404). A grant's `:team` is looked up as given. */
const IdParams = z.object({ id: UuidSchema });
const GrantParams = z.object({ id: UuidSchema, team: z.string().min(1) });
const budgetNotFound = (id: string) => new AppError('budget_not_found', `No budget "${id}".`);
const collectionNotFound = (id: string) => new AppError('collection_not_found', `No collection ${id}.`);

/** `/v1/budgets`, `/v1/collections/:id/grants` and `/v1/audit`: admins only; every change commits with its audit row. */
export function budgetsAuditRouter(gov: Governance): Router {
  const router = exactRouter();
  const { store, audit, budgets } = gov;
  router.use(['/v1/budgets', '/v1/audit', '/v1/collections/:id/grants'], express.json({ limit: '1mb' }), (_req, res, next) => {
    requireAdmin(res);
    next();
  });

  const withUse = async (b: Awaited<ReturnType<typeof store.upsertBudget>>) => ({ object: 'budget', ...b, ...(await budgets.used(b)) });
  router.put('/v1/budgets', handle(async (req, res) => {
    const body = parseWith(PutBudget, req.body);
    const exists = body.scope === 'team' ? await store.team(body.scope_id) : await store.key(body.scope_id);
    if (!exists) throw new AppError(body.scope === 'team' ? 'team_not_found' : 'key_not_found', `No ${body.scope} "${body.scope_id}".`, { param: 'scope_id' });
    const updatedBy = requireAdmin(res).key_id;
    // The change and its audit row commit together; the cached budgets are dropped only once it did
    // (dropped before, a read in between could cache the rows the change is about to replace).
    const { before, after } = await store.db.transaction(async (tx) => {
      const before = await store.budgetOf(body, tx, true);
      // Merge: what the body leaves out stays as it was (read under the row's lock), so raising a limit
      // keeps the webhook and soft threshold an earlier PUT set.
      const after = await store.upsertBudget({
        ...body,
        soft_fraction: body.soft_fraction !== undefined ? String(body.soft_fraction) : (before?.soft_fraction ?? DEFAULT_SOFT_FRACTION),
        alert_webhook: body.alert_webhook !== undefined ? body.alert_webhook : (before?.alert_webhook ?? null),
        updated_by: updatedBy,
      }, tx);
      await audit.write(change(res, before ? 'budget.update' : 'budget.create', 'budget', after.id, before, after), tx);
      return { before, after };
    });
    budgets.invalidate();
    res.status(before ? 200 : 201).json(await withUse(after));
  }));
  router.get('/v1/budgets', handle(async (req, res) => {
    const q = parseStrict(BudgetsQuery, req.query, 'query');
    const page = await store.budgets(q, q.limit, decodeCursor(q.cursor));
    res.json({ object: 'list', data: await Promise.all(page.data.map(withUse)), next_cursor: page.next_cursor });
  }));
  router.get('/v1/budgets/:id', handle(async (req, res) => {
    const { id } = paramsOf(req, IdParams, { id: budgetNotFound });
    const b = await store.budget(id);
    if (!b) throw budgetNotFound(id);
    res.json(await withUse(b));
  }));
  router.delete('/v1/budgets/:id', handle(async (req, res) => {
    const { id } = paramsOf(req, IdParams, { id: budgetNotFound });
    const b = await store.db.transaction(async (tx) => {
      const b = await store.deleteBudget(id, tx);
      if (!b) throw budgetNotFound(id);
      await audit.write(change(res, 'budget.delete', 'budget', b.id, b, null), tx);
      return b;
    });
    budgets.invalidate();
    res.json({ id: b.id, deleted: true });
  }));

  /** The collection a grants path names (a UUID: `paramsOf` answered any other id), or its 404. */
  const collectionOf = async (id: string) => {
    if (!(await store.collectionTeam(id))) throw collectionNotFound(id);
    return id;
  };
  router.get('/v1/collections/:id/grants', handle(async (req, res) => {
    const id = await collectionOf(paramsOf(req, IdParams, { id: collectionNotFound }).id);
    res.json({ object: 'list', collection_id: id, owner_team_id: await store.collectionTeam(id), data: await store.grants(id) });
  }));
  router.put('/v1/collections/:id/grants/:team', handle(async (req, res) => {
    const params = paramsOf(req, GrantParams, { id: collectionNotFound });
    const id = await collectionOf(params.id);
    const { access } = parseWith(PutGrant, req.body);
    const { team } = params;
    if (!(await store.team(team))) throw new AppError('team_not_found', `No team "${team}".`);
    const grantedBy = requireAdmin(res).key_id;
    const after = await store.db.transaction(async (tx) => {
      const before = await store.grant(id, team, tx, true);
      const after = await store.putGrant({ collection_id: id, team_id: team, access, granted_by: grantedBy }, tx);
      await audit.write(change(res, 'grant.put', 'collection', id, before, after), tx);
      return after;
    });
    res.json(after);
  }));
  router.delete('/v1/collections/:id/grants/:team', handle(async (req, res) => {
    const params = paramsOf(req, GrantParams, { id: collectionNotFound });
    const id = await collectionOf(params.id);
    const { team } = params;
    const removed = await store.db.transaction(async (tx) => {
      const removed = await store.deleteGrant(id, team, tx);
      if (!removed) throw new AppError('not_found', `Team "${team}" has no grant on collection ${id}.`);
      await audit.write(change(res, 'grant.delete', 'collection', id, removed, null), tx);
      return removed;
    });
    res.json({ ...removed, deleted: true });
  }));

  router.get('/v1/audit', handle(async (req, res) => {
    const q = parseStrict(AuditQuery, req.query, 'query');
    await audit.flush();
    const page = await audit.list({ limit: q.limit, cursor: q.cursor ?? null, ...(q.action ? { action: q.action } : {}), ...(q.outcome ? { outcome: q.outcome } : {}), ...(q.team ? { team: q.team } : {}) });
    if (page.next_cursor) res.setHeader('x-next-cursor', page.next_cursor);
    if (q.format === 'jsonl') {
      res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
      res.send(page.data.map((r) => JSON.stringify(r)).join('\n') + (page.data.length ? '\n' : ''));
      return;
    }
    if (q.format === 'csv') {
      const header = ['id', 'created_at', 'request_id', 'actor_key_id', 'actor_team_id', 'action', 'outcome', 'code', 'target_type', 'target_id', 'before', 'after', 'details'] as const;
      const lines = [header.join(','), ...page.data.map((r) => header.map((h) => csvCell(r[h])).join(','))];
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="audit.csv"');
      res.send(`${lines.join('\r\n')}\r\n`);
      return;
    }
    res.json({ object: 'list', data: page.data, next_cursor: page.next_cursor, viewer: (res.locals as CallerLocals).identity.key_id });
  }));
  return router;
}
