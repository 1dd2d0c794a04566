import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { emptyUsage, type RerankingModelV1 } from '@quire/models';
import { ADMIN_AUTH, TEST_ADMIN_KEY_ID, identityHeader, ledgerFor, micros, startHarness, type Harness } from './testing/gateway-harness.js';

let db: Db;
let primary: FakeOpenAI;
let backup: FakeOpenAI;
const harnesses: Harness[] = [];

/** A small reranker: scores documents by the share of query words they contain; one search unit per call. */
const wordOverlap: RerankingModelV1 = {
  specificationVersion: 'v1',
  provider: 'local',
  modelId: 'overlap-1',
  maxDocumentsPerCall: 100,
  billedIn: 'searchUnits',
  async doRerank({ query, documents, topN }) {
    const words = query.toLowerCase().split(/\W+/).filter(Boolean);
    const results = documents
      .map((doc, index) => ({ index, relevanceScore: words.filter((w) => doc.toLowerCase().includes(w)).length / words.length }))
      .sort((a, b) => b.relevanceScore - a.relevanceScore)
      .slice(0, topN ?? documents.length);
    return { results, usage: { ...emptyUsage(), searchUnits: 1 } };
  },
};

const ROUTES_FILE = `routes:
  chat-default:
    targets: [primary/gpt-4o-mini]
  rerank-default:
    targets: [local/overlap-1]
`;

async function gateway(): Promise<Harness> {
  const harness = await startHarness(db, {
    providers: { primary: primary.url, backup: backup.url },
    prices: {
      'primary/gpt-4o-mini': { input: '1', output: '2' },
      'backup/gpt-4o-mini': { input: '3', output: '4' },
      'local/overlap-1': { input: '0', output: '0', searchUnit: '0.002' },
    },
    routes: ROUTES_FILE,
    rerankers: { 'local/overlap-1': wordOverlap },
    extra: { routesRefreshMs: 0 },
  });
  harnesses.push(harness);
  return harness;
}

beforeAll(async () => {
  [db, primary, backup] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' }), startFakeOpenAI({ apiKey: 'sk-test', reply: () => 'from backup' })]);
});
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
  await Promise.all([primary?.close(), backup?.close()]);
  await db?.close();
});

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'Hello there' }] });
const member = identityHeader({ team_id: 'team-m', role: 'member' });

describe('route admin API', () => {
  test('PUT overrides the file, persists for a new gateway process, DELETE removes; members are refused', async () => {
    const gw = await gateway();
    const list = (await (await fetch(`${gw.url}/v1/admin/routes`, { headers: ADMIN_AUTH })).json()) as any;
    expect(list.data.map((r: any) => [r.name, r.source])).toEqual([['chat-default', 'file'], ['rerank-default', 'file']]);

    await gw.post('/v1/chat/completions', chat('chat-default'), { 'x-request-id': 'admin-1' });
    expect((await ledgerFor(db, 'admin-1'))[0]!.provider).toBe('primary');

    const put = await fetch(`${gw.url}/v1/admin/routes/chat-default`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, body: JSON.stringify({ targets: ['backup/gpt-4o-mini', { model: 'primary/gpt-4o-mini', timeouts: { totalMs: 5000 } }] }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as any)).toMatchObject({ name: 'chat-default', source: 'database', strategy: 'priority' });
    await gw.post('/v1/chat/completions', chat('chat-default'), { 'x-request-id': 'admin-2' });
    expect((await ledgerFor(db, 'admin-2'))[0]).toMatchObject({ provider: 'backup', route: 'chat-default' });

    // A fresh gateway with the same file sees the database's version.
    const second = await gateway();
    const got = (await (await fetch(`${second.url}/v1/admin/routes/chat-default`, { headers: ADMIN_AUTH })).json()) as any;
    expect(got).toMatchObject({ source: 'database', updated_by: TEST_ADMIN_KEY_ID });
    expect(got.targets[0].model).toBe('backup/gpt-4o-mini');
    const models = (await (await fetch(`${second.url}/v1/models`, { headers: ADMIN_AUTH })).json()) as any;
    expect(models.data.map((m: any) => m.id)).toContain('chat-default');

    const bad = await fetch(`${gw.url}/v1/admin/routes/chat-x`, { method: 'PUT', headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, body: JSON.stringify({ targets: ['no-slash'] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.param).toMatch(/^targets/);

    const del = await fetch(`${gw.url}/v1/admin/routes/chat-default`, { method: 'DELETE', headers: ADMIN_AUTH });
    expect(del.status).toBe(200);
    const gone = await gw.post('/v1/chat/completions', chat('chat-default'));
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as any).error.code).toBe('model_not_found');

    for (const [method, path] of [['GET', '/v1/admin/routes'], ['PUT', '/v1/admin/routes/x'], ['DELETE', '/v1/admin/routes/rerank-default']]) {
      const res = await fetch(`${gw.url}${path}`, { method, headers: { 'content-type': 'application/json', ...member }, body: method === 'PUT' ? '{"targets":["a/b"]}' : undefined });
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error.code).toBe('permission_denied');
    }
  });
});

describe('POST /v1/rerank', () => {
  test('ranks documents through a route, returns documents on request, and meters search units', async () => {
    const gw = await gateway();
    const res = await gw.post(
      '/v1/rerank',
      { model: 'rerank-default', query: 'laptop warranty', documents: ['The cafeteria opens at 8.', { text: 'Laptop warranty is three years.' }, 'A laptop bag.'], top_n: 2, return_documents: true },
      { 'x-request-id': 'rerank-1' },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.id).toMatch(/^rerank-/);
    expect(body.model).toBe('rerank-default');
    expect(body.results).toEqual([
      { index: 1, relevance_score: 1, document: { text: 'Laptop warranty is three years.' } },
      { index: 2, relevance_score: 0.5, document: { text: 'A laptop bag.' } },
    ]);
    expect(body.usage).toEqual({ search_units: 1 });
    const rows = await ledgerFor(db, 'rerank-1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ capability: 'rerank', provider: 'local', model: 'overlap-1', search_units: 1, cost_usd: '0.002000000000', route: 'rerank-default' });

    const direct = (await (await gw.post('/v1/rerank', { model: 'local/overlap-1', query: 'bag', documents: ['a', 'bag'] })).json()) as any;
    expect(direct.results.map((r: any) => r.index)).toEqual([1, 0]);
    expect(direct.results[0].document).toBeUndefined();
    const unsupported = await gw.post('/v1/rerank', { model: 'primary/gpt-4o-mini', query: 'q', documents: ['a'] });
    expect(unsupported.status).toBe(422);
    expect(((await gw.post('/v1/rerank', { model: 'local/overlap-1', query: 'q', documents: [] })).status)).toBe(400);
  });
});

describe('GET /v1/usage', () => {
  test('aggregates exact costs and tokens by team, model and day, as JSON and CSV; members see their own team only', async () => {
    const gw = await gateway();
    const teamA = identityHeader({ team_id: 'usage-a', role: 'service' });
    const teamB = identityHeader({ team_id: 'usage-b', role: 'service' });
    const expected: Record<string, number> = {};
    for (const [i, headers] of [teamA, teamA, teamB].entries()) {
      const res = await gw.post('/v1/chat/completions', chat('primary/gpt-4o-mini'), { ...headers, 'x-request-id': `usage-${i}` });
      const usage = ((await res.json()) as any).usage;
      const team = i < 2 ? 'usage-a' : 'usage-b';
      expected[team] = (expected[team] ?? 0) + usage.prompt_tokens + usage.completion_tokens * 2;
    }
    const today = new Date().toISOString().slice(0, 10);
    const res = await fetch(`${gw.url}/v1/usage?group_by=team,model,day&from=${today}&to=${today}&model=primary/gpt-4o-mini`, { headers: ADMIN_AUTH });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const a = body.data.find((r: any) => r.team === 'usage-a');
    expect(a).toMatchObject({ model: 'primary/gpt-4o-mini', day: today, requests: 2, attempts: 2, failed_attempts: 0, cost_usd: micros(expected['usage-a']!) });
    expect(body.data.find((r: any) => r.team === 'usage-b').cost_usd).toBe(micros(expected['usage-b']!));

    const csv = await fetch(`${gw.url}/v1/usage?group_by=team&team=usage-a&format=csv`, { headers: ADMIN_AUTH });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('team,requests,attempts,failed_attempts,unpriced_attempts,input_tokens,output_tokens,cached_input_tokens,reasoning_tokens,search_units,cost_usd');
    expect(lines[1]).toMatch(new RegExp(`^usage-a,2,2,0,0,\\d+,\\d+,0,0,0,${micros(expected['usage-a']!).replace('.', '\\.')}$`));

    const own = (await (await fetch(`${gw.url}/v1/usage?group_by=team`, { headers: identityHeader({ team_id: 'usage-b', role: 'member' }) })).json()) as any;
    expect(own.data.map((r: any) => r.team)).toEqual(['usage-b']);
    expect(own.totals.cost_usd).toBe(micros(expected['usage-b']!));
    const other = await fetch(`${gw.url}/v1/usage?team=usage-a`, { headers: identityHeader({ team_id: 'usage-b', role: 'member' }) });
    expect(other.status).toBe(403);
    expect((await fetch(`${gw.url}/v1/usage?group_by=colour`, { headers: ADMIN_AUTH })).status).toBe(400);
  });
});
