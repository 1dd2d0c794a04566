import http from 'node:http';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { startHarness, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { call, chat, sleep, teamKey } from './helpers.js';

let db: Db;
let openai: FakeOpenAI;
let gw: Harness;
let hook: http.Server;
let hookUrl = '';
const alerts: any[] = [];
/** Streams whose prompt says "hold" wait here until released: requests in flight. */
let release: () => void = () => undefined;
let gate = Promise.resolve();
const LONG = Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ');

beforeAll(async () => {
  openai = await startFakeOpenAI({
    apiKey: 'sk-test',
    reply: async (body: any) => {
      if (JSON.stringify(body.messages).includes('hold')) {
        await gate;
        return LONG;
      }
      return 'Short answer.';
    },
  });
  db = await openTestDatabase();
  // Output is dear ($1000 per million tokens) so that max_tokens decides the reservation.
  gw = await startHarness(db, { providers: { primary: openai.url }, prices: { 'primary/gpt-4o-mini': { input: '1', output: '1000' } } });
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      alerts.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alert`;
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  hook?.close();
  await db?.close();
});

async function teamSpend(team: string): Promise<number> {
  const r = await db.query<{ s: string }>('SELECT coalesce(sum(cost_usd), 0)::text AS s FROM usage_ledger WHERE team_id = $1', [team]);
  return Number(r.rows[0]!.s);
}

describe('budgets', () => {
  test('100 concurrent requests never spend past a hard limit', async () => {
    const k = await teamKey(gw.url, 'bud-conc', 'member');
    expect((await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'bud-conc', period: 'day', limit_usd: '0.1' })).status).toBe(201);
    // Worst case per request: 10 output tokens x $1000/M = $0.01 (+ input): at most 9 fit at once.
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 10, messages: [{ role: 'user', content: `q${i}` }] }), k.auth)),
    );
    const ok = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 402);
    expect(ok + refused.length).toBe(100);
    expect(ok).toBeGreaterThanOrEqual(9);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.body.error).toMatchObject({ code: 'budget_exceeded', type: 'insufficient_quota' });
    await sleep(50);
    expect(await teamSpend('bud-conc')).toBeLessThanOrEqual(0.1);
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE team_id = 'bud-conc'`);
    expect(rows.rows[0]!.n).toBe(ok);
  });

  test('a stream in flight finishes and is metered when the budget runs out; the next request is refused with 402', async () => {
    const k = await teamKey(gw.url, 'bud-stream', 'member');
    const metadata = await call(gw.url, 'PUT', '/v1/budgets', { scope: 'key', scope_id: k.id, period: 'month', limit_usd: '0.15', alert_webhook: 'http://169.254.169.254/latest/meta-data/' });
    expect([metadata.status, metadata.body.error.param]).toEqual([400, 'alert_webhook']);
    const put = await call(gw.url, 'PUT', '/v1/budgets', { scope: 'key', scope_id: k.id, period: 'month', limit_usd: '0.15', soft_fraction: 0.5, alert_webhook: hookUrl });
    expect(put.status).toBe(201);
    gate = new Promise<void>((r) => (release = r));
    const body = chat('primary/gpt-4o-mini', { stream: true, max_tokens: 100, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hold on' }] });
    const inFlight = call(gw.url, 'POST', '/v1/chat/completions', body, k.auth, { 'x-request-id': 'bud-stream-1' });
    await sleep(100);
    // The reservation of the stream in flight ($0.1) leaves too little for a second one.
    const second = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 100 }), k.auth);
    expect(second.status).toBe(402);
    // The body names the budget that refused; its details (budget id, what is used) go to the audit log only.
    expect(second.body.error).toEqual({
      type: 'insufficient_quota',
      code: 'budget_exceeded',
      message: `The monthly budget of key "${k.id}" ($0.15) does not cover this request.`,
      param: null,
      request_id: expect.any(String),
    });
    // Nothing to wait for within the period: no retry-after.
    expect(second.headers.get('retry-after')).toBeNull();
    release();
    const first = await inFlight;
    expect(first.status).toBe(200);
    expect(String(first.body)).toContain('[DONE]');
    await sleep(50);
    const row = (await db.query<{ cost_usd: string; status: string }>(`SELECT cost_usd::text AS cost_usd, status FROM usage_ledger WHERE trace_id = 'bud-stream-1'`)).rows;
    expect(row).toHaveLength(1);
    expect(row[0]!.status).toBe('ok');
    expect(Number(row[0]!.cost_usd)).toBeGreaterThan(0.075);
    const next = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 100 }), k.auth);
    expect([next.status, next.body.error.code]).toEqual([402, 'budget_exceeded']);
    // A call whose worst case fits what is left still goes through.
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 5 }), k.auth)).status).toBe(200);
    // The soft threshold (50 %) alerted once, through the webhook, and so did the refusals past it (exhausted).
    await sleep(200);
    const mine = alerts.filter((a) => a.scope_id === k.id);
    expect(mine.map((a) => a.type).sort()).toEqual(['budget.exhausted', 'budget.soft_threshold']);
    expect(mine.find((a) => a.type === 'budget.soft_threshold')).toMatchObject({ scope: 'key', period: 'month', limit_usd: expect.stringMatching(/^0\.15/) });
    const view = await call(gw.url, 'GET', `/v1/budgets?scope=key&scope_id=${k.id}`);
    expect(Number(view.body.data[0].used_usd)).toBeCloseTo(Number(row[0]!.cost_usd) + Number((await db.query<{ c: string }>(`SELECT max(cost_usd)::text AS c FROM usage_ledger WHERE key_id = $1 AND trace_id <> 'bud-stream-1'`, [k.id])).rows[0]!.c), 5);
    const audit = await call(gw.url, 'GET', '/v1/audit?outcome=refused&limit=500');
    const refusals = audit.body.data.filter((r: any) => r.code === 'budget_exceeded' && r.actor_key_id === k.id);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0].details).toMatchObject({ status: 402, scope: 'key', scope_id: k.id, period: 'month', budget_id: expect.any(String) });
  });

  test('spend made before the budget existed counts (the ledger is the source of truth)', async () => {
    const k = await teamKey(gw.url, 'bud-seed', 'member');
    for (let i = 0; i < 3; i++) expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 10 }), k.auth)).status).toBe(200);
    const spent = await teamSpend('bud-seed');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'bud-seed', period: 'day', limit_usd: spent.toFixed(6) });
    const refused = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 1 }), k.auth);
    expect(refused.status).toBe(402);
  });
});

describe('models without a price', () => {
  const ROUTES = 'routes:\n  chat-mixed:\n    targets: [primary/gpt-4o-mini]\n    downgrade: { whenBudgetUsedAbove: 0.9, targets: [primary/gpt-4o] }\n';
  const options = () => ({
    providers: { primary: openai.url },
    // A self-hosted provider type: its models cost nothing, priced or not.
    providerConfigs: { vllm: { type: 'vllm' as const, baseURL: openai.url, apiKey: 'sk-test', allowLoopback: true } },
    prices: { 'primary/gpt-4o-mini': { input: '1', output: '1000' } },
    routes: ROUTES,
  });
  let strict: Harness;
  let allowing: Harness;
  beforeAll(async () => {
    strict = await startHarness(db, options());
    allowing = await startHarness(db, { ...options(), extra: { governance: { allowUnpriced: true } } });
  });
  afterAll(async () => {
    await strict?.close();
    await allowing?.close();
  });

  test('are refused under a budget (403 model_unpriced), called or reachable through a route; without a budget, self-hosted, or allowed, they go through', async () => {
    const k = await teamKey(strict.url, 'bud-unpriced', 'member');
    const ask = (gw: Harness, model: string) => call(gw.url, 'POST', '/v1/chat/completions', chat(model, { max_tokens: 5 }), k.auth);
    expect((await ask(strict, 'primary/gpt-4o')).status).toBe(200);

    expect((await call(strict.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'bud-unpriced', period: 'day', limit_usd: '10' })).status).toBe(201);
    const refused = await ask(strict, 'primary/gpt-4o');
    expect([refused.status, refused.body.error.code]).toEqual([403, 'model_unpriced']);
    expect(refused.body.error.message).toContain('Model "primary/gpt-4o" has no price');
    expect(refused.body.error.message).toContain('QUIRE_PRICING_JSON');
    const routed = await ask(strict, 'chat-mixed');
    expect([routed.status, routed.body.error.code]).toEqual([403, 'model_unpriced']);
    expect(routed.body.error.message).toContain('"chat-mixed" can call models without a price ("primary/gpt-4o")');
    expect((await ask(strict, 'primary/gpt-4o-mini')).status).toBe(200);
    expect((await ask(strict, 'vllm/Qwen/Qwen3-8B')).status).toBe(200);
    expect((await ask(allowing, 'primary/gpt-4o')).status).toBe(200);

    const audit = await call(strict.url, 'GET', '/v1/audit?outcome=refused&limit=500');
    const rows = audit.body.data.filter((r: any) => r.code === 'model_unpriced' && r.actor_key_id === k.id);
    expect(rows.map((r: any) => [r.details.status, r.details.model, r.details.unpriced_models]).sort()).toEqual([
      [403, 'chat-mixed', ['primary/gpt-4o']],
      [403, 'primary/gpt-4o', ['primary/gpt-4o']],
    ]);
  });
});
