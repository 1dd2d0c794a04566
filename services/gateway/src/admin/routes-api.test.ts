import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, createServiceApp, finishServiceApp, listen, type RunningServer } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { AuditLog } from '../governance/audit.js';
import type { ModelCatalog } from '../model-service.js';
import { RouteStore } from '../routing/route-store.js';
import { routesAdminRouter } from './routes-api.js';

const logger = createLogger({ test: 'routes-api' }, 'error');

let db: Db;
let server: RunningServer;
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
  app.use(routesAdminRouter(new RouteStore(db, new Map(), logger, 0), catalog, new AuditLog(db, logger)));
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
    'Target "ok/unpriced" has no price: its calls are metered with cost null and count against no budget.',
  ]);

  const bad = await put('light', { targets: ['ok/priced'], downgrade: { whenBudgetUsedAbove: 0.5, targets: ['nope/x'] } });
  expect(bad.status).toBe(400);
  const error = ((await bad.json()) as { error: { message: string; param: string } }).error;
  expect(error).toMatchObject({ message: 'Unknown route target: "nope/x" (Unknown provider "nope" (configured: ok).)', param: 'downgrade.targets.0' });
  expect(built).toEqual([]);
});
