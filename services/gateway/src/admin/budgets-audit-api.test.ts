import type { Identity } from '@quire/contracts';
import { openTestDatabase, type Db } from '@quire/db';
import { AppError, createLogger, createServiceApp, finishServiceApp, listen, type RunningServer } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { Governance } from '../governance/governance.js';
import type { RouteStore } from '../routing/route-store.js';
import { budgetsAuditRouter } from './budgets-audit-api.js';
import { auditRefusing } from '../testing/audit-refusing.js';

const logger = createLogger({ test: 'budgets-audit-api' }, 'error');
const member: Identity = { team_id: 'team-b', key_id: 'key-b', role: 'member', groups: [] };

let db: Db;
let gov: Governance;
let server: RunningServer;
let collection: string;

beforeAll(async () => {
  db = await openTestDatabase();
  // A long cache, so what `check` answers within a test comes from the budgets this process holds.
  gov = new Governance({ db, logger, costOf: () => null, routes: {} as RouteStore, cacheTtlMs: 60_000 });
  const app = createServiceApp({ name: 'gateway', logger, json: true, ready: async () => undefined });
  app.use((_req, res, next) => {
    const locals: CallerLocals = { traceId: 'trace-1', identity: { team_id: 'default', key_id: 'admin-key', role: 'admin', groups: [] }, internal: false };
    Object.assign(res.locals, locals);
    next();
  });
  app.use(budgetsAuditRouter(gov));
  finishServiceApp(app, logger);
  server = await listen(app, 0);
  for (const team of ['team-b', 'team-c']) await gov.store.insertTeam({ id: team, name: team, allowed_models: null, rpm: null, tpm: null });
  collection = (await db.query<{ id: string }>(`INSERT INTO collections (team_id, name, chunking) VALUES ('team-b', 'granted', '{}'::jsonb) RETURNING id::text AS id`)).rows[0]!.id;
});
afterAll(async () => {
  await server?.close();
  await gov?.close();
  await db?.close();
});

const send = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as any };
};


const expectInternalError = (res: { status: number; body: any }) => {
  expect(res.status).toBe(500);
  expect(res.body.error).toMatchObject({ code: 'internal_error', request_id: expect.any(String) });
};

/** Whether the budgets this process enforces let `micros` more through for the member key (budgets count nano-dollars). */
const fits = (micros: number) => gov.budgets.check(member, micros * 1000).then(() => true, (error: unknown) => (AppError.is(error) && error.code === 'budget_exceeded' ? false : Promise.reject(error)));
const limits = async () => (await db.query<{ limit_usd: string }>(`SELECT limit_usd::text AS limit_usd FROM budgets WHERE scope_id = 'team-b' ORDER BY id`)).rows.map((r) => Number(r.limit_usd));
const actions = async (prefix: string) => (await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE action LIKE $1 ORDER BY id`, [`${prefix}%`])).rows.map((r) => r.action);

test('a budget change and its audit row commit together: when the row cannot be written, neither the budget nor the budgets enforced change', async () => {
  const budget = { scope: 'team', scope_id: 'team-b', period: 'day', limit_usd: '1' };
  await auditRefusing(db, 'budget.%', async () => expectInternalError(await send('PUT', '/v1/budgets', budget)));
  expect(await limits()).toEqual([]);
  expect(await fits(1000)).toBe(true);

  const created = await send('PUT', '/v1/budgets', budget);
  expect(created.status).toBe(201);
  expect(await fits(1000)).toBe(true); // cached: $1 covers $0.001

  // Lowering it to $0.0001 would refuse that request; rolled back, the cached $1 still holds.
  await auditRefusing(db, 'budget.%', async () => expectInternalError(await send('PUT', '/v1/budgets', { ...budget, limit_usd: '0.0001' })));
  expect(await limits()).toEqual([1]);
  expect(await fits(1000)).toBe(true);

  expect((await send('PUT', '/v1/budgets', { ...budget, limit_usd: '0.0001' })).status).toBe(200);
  expect(await fits(1000)).toBe(false);

  await auditRefusing(db, 'budget.%', async () => expectInternalError(await send('DELETE', `/v1/budgets/${created.body.id}`)));
  expect(await limits()).toEqual([0.0001]);
  expect(await fits(1000)).toBe(false);

  expect((await send('DELETE', `/v1/budgets/${created.body.id}`)).status).toBe(200);
  expect(await fits(1000)).toBe(true);
  expect(await actions('budget.')).toEqual(['budget.create', 'budget.update', 'budget.delete']);
});

test('a grant change and its audit row commit together: when the row cannot be written, the grant stays as it was', async () => {
  const grants = async () => (await db.query<{ team_id: string; access: string }>(`SELECT team_id, access FROM collection_grants WHERE collection_id = $1::uuid`, [collection])).rows;
  await auditRefusing(db, 'grant.%', async () => expectInternalError(await send('PUT', `/v1/collections/${collection}/grants/team-c`, { access: 'read' })));
  expect(await grants()).toEqual([]);

  expect((await send('PUT', `/v1/collections/${collection}/grants/team-c`, { access: 'read' })).status).toBe(200);
  await auditRefusing(db, 'grant.%', async () => {
    expectInternalError(await send('PUT', `/v1/collections/${collection}/grants/team-c`, { access: 'write' }));
    expectInternalError(await send('DELETE', `/v1/collections/${collection}/grants/team-c`));
  });
  expect(await grants()).toEqual([{ team_id: 'team-c', access: 'read' }]);

  expect((await send('PUT', `/v1/collections/${collection}/grants/team-c`, { access: 'write' })).status).toBe(200);
  expect((await send('DELETE', `/v1/collections/${collection}/grants/team-c`)).status).toBe(200);
  expect(await grants()).toEqual([]);
  const rows = await db.query<{ action: string; before: { access: string } | null; after: { access: string } | null }>(
    `SELECT action, before, after FROM audit_log WHERE action LIKE 'grant.%' ORDER BY id`,
  );
  expect(rows.rows.map((r) => [r.action, r.before?.access ?? null, r.after?.access ?? null])).toEqual([
    ['grant.put', null, 'read'],
    ['grant.put', 'read', 'write'],
    ['grant.delete', 'write', null],
  ]);
});

test('PUT /v1/budgets keeps what the body leaves out: raising a limit keeps the webhook and soft threshold; null removes the webhook', async () => {
  const budget = { scope: 'team', scope_id: 'team-c', period: 'month' };
  const created = await send('PUT', '/v1/budgets', { ...budget, limit_usd: '50', soft_fraction: 0.5, alert_webhook: 'https://hooks.example.com/quire' });
  expect(created.status).toBe(201);
  const raised = await send('PUT', '/v1/budgets', { ...budget, limit_usd: '100' });
  expect(raised.status).toBe(200);
  expect(raised.body).toMatchObject({ id: created.body.id, limit_usd: num('100'), soft_fraction: num('0.5'), alert_webhook: 'https://hooks.example.com/quire' });
  const cleared = await send('PUT', '/v1/budgets', { ...budget, limit_usd: '100', alert_webhook: null, soft_fraction: 0.9 });
  expect(cleared.body).toMatchObject({ limit_usd: num('100'), soft_fraction: num('0.9'), alert_webhook: null });
  // A new budget takes the defaults for what is left out.
  const daily = await send('PUT', '/v1/budgets', { ...budget, period: 'day', limit_usd: '5' });
  expect(daily.status).toBe(201);
  expect(daily.body).toMatchObject({ soft_fraction: num('0.8'), alert_webhook: null });
  // The audit row shows the merged row as it was written.
  const row = await db.query<{ after: { alert_webhook: string | null; soft_fraction: string } }>(
    `SELECT after FROM audit_log WHERE action = 'budget.update' AND target_id = $1 ORDER BY id LIMIT 1`, [created.body.id],
  );
  expect(row.rows[0]!.after).toMatchObject({ alert_webhook: 'https://hooks.example.com/quire', soft_fraction: num('0.5') });
});

/** A numeric column as the API shows it, at the column's scale ("0.5000"). */
function num(value: string) {
  return expect.stringMatching(new RegExp(value.includes('.') ? `^${value.replace('.', '\\.')}0*$` : `^${value}(\\.0*)?$`));
}
