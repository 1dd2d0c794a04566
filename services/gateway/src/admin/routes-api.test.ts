import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, createServiceApp, finishServiceApp, listen, type RunningServer } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { AuditLog } from '../governance/audit.js';
import type { ModelCatalog } from '../model-service.js';
import { RouteStore } from '../routing/route-store.js';
import { routesAdminRouter } from './routes-api.js';
import { auditRefusing } from '../testing/audit-refusing.js';

const logger = createLogger({ test: 'routes-api' }, 'error');

let db: Db;
let server: RunningServer;
let store: RouteStore;
const built: string[] = [];

/** Builds nothing willingly: a model made just to check a name would show up in `built`. */
const catalog: ModelCatalog & { resolveProblem(name: string): string | null } = {
  generationModel: (name) => {
    built.push(name);
    throw new Error('not for checks');
  },
  embeddingModel: (name) => {
    built.push(name);
    throw new Error('not for checks');
  },
  rerankingModel: (name) => {
    built.push(name);
    throw new Error('not for checks');
  },
  costOf: (name) => (name === 'ok/priced' ? '0.01' : null),
  resolveProblem: (name) => (name.startsWith('ok/') ? null : `Unknown provider "${name.split('/')[0]}" (configured: ok).`),
};

beforeAll(async () => {
  db = await openTestDatabase();
  const app = createServiceApp({ name: 'gateway', logger, json: true, ready: async () => undefined });
  app.use((_req, res, next) => {
    const locals: CallerLocals = { traceId: 'trace-1', identity: { team_id: 'team-a', key_id: 'admin-key', role: 'admin', groups: [] }, internal: false };
    Object.assign(res.locals, locals);
    next();
  });
  // No background refresh within a test: what `get` answers is what the store holds in memory.
  store = new RouteStore(db, new Map(), logger, 60_000);
  app.use(routesAdminRouter(store, catalog, new AuditLog(db, logger)));
  finishServiceApp(app, logger);
  server = await listen(app, 0);
});
afterAll(async () => {
  await server?.close();
  await db?.close();
});

const put = (name: string, body: unknown) =>
  fetch(`${server.url}/v1/admin/routes/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('targets are checked with the catalog\'s light check, building no model', async () => {
  const ok = await put('light', { targets: ['ok/priced', 'ok/unpriced'] });
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as { warnings: string[] }).warnings).toEqual([
    'Target "ok/unpriced" has no price: callers under a budget are refused it (model_unpriced) until it is priced in QUIRE_PRICING_JSON or QUIRE_BUDGETS_ALLOW_UNPRICED=true; other callers\' calls are metered with cost null.',
  ]);

  const bad = await put('light', { targets: ['ok/priced'], downgrade: { whenBudgetUsedAbove: 0.5, targets: ['nope/x'] } });
  expect(bad.status).toBe(400);
  const error = ((await bad.json()) as { error: { message: string; param: string } }).error;
  expect(error).toMatchObject({ message: 'Unknown route target: "nope/x" (Unknown provider "nope" (configured: ok).)', param: 'downgrade.targets.0' });
  expect(built).toEqual([]);
});


const targetsOf = async (name: string) => (await store.get(name))?.targets.map((t) => t.model);
const auditActions = async (name: string) =>
  (await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_type = 'route' AND target_id = $1 ORDER BY id`, [name])).rows.map((r) => r.action);

test('a route change and its audit row commit together: when the row cannot be written, the change is not made', async () => {
  expect((await put('audited', { targets: ['ok/priced'] })).status).toBe(200);
  await auditRefusing(db, 'route.%', async () => {
    const created = await put('audited-new', { targets: ['ok/priced'] });
    expect(created.status).toBe(500);
    expect(((await created.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    const updated = await put('audited', { targets: ['ok/unpriced'] });
    expect(updated.status).toBe(500);
    const deleted = await fetch(`${server.url}/v1/admin/routes/audited`, { method: 'DELETE' });
    expect(deleted.status).toBe(500);
    expect(((await deleted.json()) as { error: { code: string } }).error.code).toBe('internal_error');
  });
  // Neither the table nor the routes this gateway serves from memory took any of it.
  const rows = await db.query<{ name: string; config: { targets: { model: string }[] } }>(`SELECT name, config FROM gateway_routes WHERE name LIKE 'audited%'`);
  expect(rows.rows.map((r) => [r.name, r.config.targets.map((t) => t.model)])).toEqual([['audited', ['ok/priced']]]);
  expect(await targetsOf('audited')).toEqual(['ok/priced']);
  expect(await targetsOf('audited-new')).toBeUndefined();
  expect(await auditActions('audited')).toEqual(['route.create']);
  expect(await auditActions('audited-new')).toEqual([]);

  // Once the log takes rows again, each change lands with its row.
  expect((await put('audited', { targets: ['ok/unpriced'] })).status).toBe(200);
  expect((await fetch(`${server.url}/v1/admin/routes/audited`, { method: 'DELETE' })).status).toBe(200);
  expect(await targetsOf('audited')).toBeUndefined();
  expect(await auditActions('audited')).toEqual(['route.create', 'route.update', 'route.delete']);
});

test('a route whose retry starts above its cap, or with a target that is not "provider/model", is a 400 that says what to write', async () => {
  const retry = await put('bad-retry', { targets: ['ok/priced'], retry: { baseDelayMs: 2000, maxDelayMs: 1000 } });
  expect(retry.status).toBe(400);
  const retryError = ((await retry.json()) as { error: { code: string; message: string } }).error;
  expect(retryError.code).toBe('invalid_request');
  expect(retryError.message).toContain('retry.baseDelayMs: must not be above maxDelayMs (2000 > 1000');
  // The default base (200) is above a cap of 100 too.
  expect((await put('bad-retry', { targets: ['ok/priced'], retry: { maxDelayMs: 100 } })).status).toBe(400);
  expect((await put('bad-retry', { targets: ['ok/priced'], retry: { baseDelayMs: 100, maxDelayMs: 100 } })).status).toBe(200);

  const bare = await put('bare-target', { targets: ['gpt-4o-mini'] });
  expect(bare.status).toBe(400);
  const bareError = ((await bare.json()) as { error: { message: string } }).error;
  expect(bareError.message).toContain('targets.0: "gpt-4o-mini" is not a target: a target is "provider/model"');
  expect(bareError.message).toContain('or an object with "model"');
});
