import http from 'node:http';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { identityHeader, startHarness, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { ADMIN_AUTH, call, chat, teamKey } from './helpers.js';

let db: Db;
let openai: FakeOpenAI;
let gw: Harness;
/** Retrieval, answering every request as another team's (missing) collection. */
let retrieval: http.Server;

beforeAll(async () => {
  [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  retrieval = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'collection_not_found', message: 'No such collection.' } }));
    });
  });
  await new Promise<void>((r) => retrieval.listen(0, '127.0.0.1', r));
  const retrievalUrl = `http://127.0.0.1:${(retrieval.address() as { port: number }).port}`;
  gw = await startHarness(db, {
    providers: { primary: openai.url },
    prices: { 'primary/gpt-4o-mini': { input: '1', output: '2' } },
    extra: { routesRefreshMs: 0, upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl } },
  });
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  retrieval?.close();
  await db?.close();
});

const auditOf = async (action: string) => (await call(gw.url, 'GET', `/v1/audit?action=${action}&limit=50`)).body.data as any[];

describe('route admin API', () => {
  test('refuses targets the registry cannot resolve, naming them; warns of unpriced ones', async () => {
    const unknown = await call(gw.url, 'PUT', '/v1/admin/routes/bogus', { targets: ['primary/gpt-4o-mini', 'nosuch/model-x'] });
    expect([unknown.status, unknown.body.error.code, unknown.body.error.param]).toEqual([400, 'invalid_request', 'targets.1']);
    expect(unknown.body.error.message).toContain('nosuch/model-x');
    const downgrade = await call(gw.url, 'PUT', '/v1/admin/routes/bogus', { targets: ['primary/gpt-4o-mini'], downgrade: { whenBudgetUsedAbove: 0.5, targets: ['other/m'] } });
    expect([downgrade.status, downgrade.body.error.param]).toEqual([400, 'downgrade.targets.0']);
    expect((await call(gw.url, 'GET', '/v1/admin/routes/bogus')).status).toBe(404);

    const priced = await call(gw.url, 'PUT', '/v1/admin/routes/exp-priced', { targets: ['primary/gpt-4o-mini'] });
    expect([priced.status, priced.body.warnings]).toEqual([200, []]);
    const unpriced = await call(gw.url, 'PUT', '/v1/admin/routes/exp-unpriced', { targets: ['primary/house-model'] });
    expect(unpriced.status).toBe(200);
    expect(unpriced.body.warnings).toEqual([expect.stringContaining('"primary/house-model" has no price')]);
  });

  test('every change is audited: who, which route, before and after', async () => {
    expect((await call(gw.url, 'PUT', '/v1/admin/routes/exp-audit', { targets: ['primary/gpt-4o-mini'] })).status).toBe(200);
    expect((await call(gw.url, 'PUT', '/v1/admin/routes/exp-audit', { targets: ['primary/gpt-4o-mini'], strategy: 'weighted' })).status).toBe(200);
    expect((await call(gw.url, 'DELETE', '/v1/admin/routes/exp-audit')).status).toBe(200);

    const [created] = (await auditOf('route.create')).filter((r) => r.target_id === 'exp-audit');
    expect(created).toMatchObject({ outcome: 'ok', actor_key_id: 'TestAdmin001', target_type: 'route', before: null, after: { name: 'exp-audit', strategy: 'priority' } });
    const [updated] = (await auditOf('route.update')).filter((r) => r.target_id === 'exp-audit');
    expect(updated).toMatchObject({ before: { strategy: 'priority' }, after: { strategy: 'weighted', targets: [{ model: 'primary/gpt-4o-mini' }] } });
    const [deleted] = (await auditOf('route.delete')).filter((r) => r.target_id === 'exp-audit');
    expect(deleted).toMatchObject({ before: { strategy: 'weighted' }, after: null });
  });
});

describe('exports', () => {
  test('the audit CSV shows caller-chosen values that look like formulas as text', async () => {
    const k = await teamKey(gw.url, 'exp-csv', 'member');
    const refused = await call(gw.url, 'POST', '/v1/collections/=1+1/search', { query: 'q' }, k.auth, { 'x-request-id': '-2-3' });
    expect(refused.status).toBe(404);
    const csv = await call(gw.url, 'GET', '/v1/audit?format=csv&team=exp-csv', undefined, ADMIN_AUTH);
    const row = String(csv.body).split('\r\n').find((l) => l.includes('collection_not_found'));
    expect(row).toBeDefined();
    const cells = row!.split(',');
    expect(cells).toContain("'=1+1");
    expect(cells).toContain("'-2-3");
  });

  test('usage: a group whose attempts are all unpriced costs null, not 0', async () => {
    const only = identityHeader({ team_id: 'exp-unpriced', role: 'service' });
    const mixed = identityHeader({ team_id: 'exp-mixed', role: 'service' });
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/house-model'), {}, only)).status).toBe(200);
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/house-model'), {}, mixed)).status).toBe(200);
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), {}, mixed)).status).toBe(200);

    const grouped = await call(gw.url, 'GET', '/v1/usage?group_by=team');
    const team = (id: string) => grouped.body.data.find((r: any) => r.team === id);
    expect(team('exp-unpriced')).toMatchObject({ attempts: 1, unpriced_attempts: 1, cost_usd: null });
    expect(team('exp-mixed')).toMatchObject({ attempts: 2, unpriced_attempts: 1, cost_usd: expect.stringMatching(/^0\.0000\d+/) });
    expect((await call(gw.url, 'GET', '/v1/usage?team=exp-unpriced')).body.totals).toMatchObject({ requests: 1, unpriced_attempts: 1, cost_usd: null });
    const csv = await call(gw.url, 'GET', '/v1/usage?group_by=team&team=exp-unpriced&format=csv');
    expect(String(csv.body).trim().split('\r\n')[1]).toMatch(/^exp-unpriced,1,1,0,1,\d+,\d+,0,0,0,$/);
  });

  test('bad dates and cursors are refused with 400 naming the parameter; good ones pass', async () => {
    const bad: [string, string][] = [
      ['/v1/usage?to=2024-13-01', 'to'],
      ['/v1/usage?from=2024-02-30', 'from'],
      ['/v1/usage?to=2024-02-30', 'to'],
      ['/v1/usage?from=1', 'from'],
      ['/v1/usage?from=x%201', 'from'],
      ['/v1/usage?from=0000-01-01', 'from'],
      // No offset: which zone it meant is a guess (the database session's).
      ['/v1/usage?from=2024-05-01T00:00:00', 'from'],
      ['/v1/audit?cursor=99999999999999999999', 'cursor'],
      ['/v1/audit?cursor=9223372036854775808', 'cursor'],
    ];
    for (const [path, param] of bad) {
      const r = await call(gw.url, 'GET', path);
      expect([path, r.status, r.body.error?.code, r.body.error?.param]).toEqual([path, 400, 'invalid_request', param]);
    }
    for (const path of ['/v1/usage?from=2024-02-29&to=2024-02-29', '/v1/usage?from=2024-05-01T00:00:00Z&to=2024-05-01T02:00:00%2B02:00', '/v1/usage?to=9999-12-31', '/v1/audit?cursor=9223372036854775807']) {
      expect([path, (await call(gw.url, 'GET', path)).status]).toEqual([path, 200]);
    }
  });
});
