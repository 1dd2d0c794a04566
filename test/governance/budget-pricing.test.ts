import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTestDatabase, type Db } from '@quire/db';
import { emptyUsage, type RerankBillingV1, type RerankingModelV1, type UsageV1 } from '@quire/models';
import { startHarness, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { call, sleep, teamKey } from './helpers.js';

/**
 * Budgets count only what the price book can price: a call whose usage the ledger would meter at
 * cost null must be refused under a budget (`model_unpriced`), not reserved and then never charged;
 * and a call's reservation must cover its worst case, images included, so concurrent calls cannot
 * overshoot.
 */
let db: Db;
let images: Server;
let gw: Harness;
/** The `detail` of every image part the image provider received. */
const detailsSeen: (string | undefined)[] = [];

function reranker(modelId: string, billedIn: RerankBillingV1, usage: UsageV1): RerankingModelV1 {
  return {
    specificationVersion: 'v1', provider: 'rr', modelId, maxDocumentsPerCall: 100, billedIn,
    async doRerank({ documents }) {
      return { results: documents.map((_d, index) => ({ index, relevanceScore: 1 / (index + 1) })), usage };
    },
  };
}
/** Cohere-like: one search unit per call, no tokens (as cohere-reranking-model.ts reports). */
const units: UsageV1 = { ...emptyUsage(true), searchUnits: 1 };
/** Voyage/Jina-like: tokens, no search units. */
const tokens: UsageV1 = { ...emptyUsage(true), inputTokens: 50 };

beforeAll(async () => {
  db = await openTestDatabase();
  // An OpenAI-shaped server that bills images as OpenAI does for gpt-4o-mini: 2,833 prompt tokens per low-detail image.
  images = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      const parts = body.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : [])).filter((p: any) => p.type === 'image_url');
      for (const p of parts) detailsSeen.push(p.image_url.detail);
      const usage = { prompt_tokens: 10 + parts.length * 2833, completion_tokens: 1, total_tokens: 11 + parts.length * 2833 };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
    });
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  gw = await startHarness(db, {
    providers: { img: `http://127.0.0.1:${(images.address() as AddressInfo).port}/v1` },
    prices: {
      'img/gpt-4o-mini': { input: '0.15', output: '0.60' },
      // The README's price shape (input/output), without searchUnit.
      'rr/units': { input: '1', output: '0' },
      'rr/units-priced': { input: '0', output: '0', searchUnit: '0.002' },
      'rr/tokens': { input: '1', output: '0' },
    },
    rerankers: {
      'rr/units': reranker('units', 'searchUnits', units),
      // No price at all.
      'rr/units-bare': reranker('units-bare', 'searchUnits', units),
      'rr/tokens-bare': reranker('tokens-bare', 'tokens', tokens),
      'rr/units-priced': reranker('units-priced', 'searchUnits', units),
      'rr/tokens': reranker('tokens', 'tokens', tokens),
    },
  });
});
afterAll(async () => {
  await gw?.close();
  images?.close();
  await db?.close();
});

const rerank = (model: string) => ({ model, query: 'q', documents: ['a', 'b', 'c'] });

async function ledgerCosts(team: string, model: string): Promise<(string | null)[]> {
  const r = await db.query<{ cost_usd: string | null }>(`SELECT cost_usd::text AS cost_usd FROM usage_ledger WHERE team_id = $1 AND provider || '/' || model = $2`, [team, model]);
  return r.rows.map((row) => row.cost_usd);
}

/** The budget's used amount once every settlement has landed (settlement runs after the response closes). */
async function settledUsed(team: string): Promise<number> {
  const spent = async () => Number((await db.query<{ s: string }>('SELECT coalesce(sum(cost_usd), 0)::text AS s FROM usage_ledger WHERE team_id = $1', [team])).rows[0]!.s);
  let used = NaN;
  for (let i = 0; i < 50; i++) {
    used = Number((await call(gw.url, 'GET', `/v1/budgets?scope=team&scope_id=${team}`)).body.data[0].used_usd);
    if (Math.abs(used - (await spent())) < 1e-9) return used;
    await sleep(40);
  }
  throw new Error(`budget of ${team} used ${used}, ledger ${await spent()}`);
}

describe('a reranker under a budget', () => {
  test('billed in search units but priced only with input/output: refused as model_unpriced, naming searchUnit; nothing metered at cost null', async () => {
    const m = await teamKey(gw.url, 'rr-units', 'member');
    expect((await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'rr-units', period: 'month', limit_usd: '0.01' })).status).toBe(201);
    const r = await call(gw.url, 'POST', '/v1/rerank', rerank('rr/units'), m.auth);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'model_unpriced', param: 'model' });
    expect(r.body.error.message).toContain('Model "rr/units" has no searchUnit price (its reranks are billed in search units, which input and output prices do not cover)');
    expect(r.body.error.message).toContain('"searchUnit": "0.002"');
    expect(await ledgerCosts('rr-units', 'rr/units')).toEqual([]);
    // Without a budget the call goes out as before (metered, cost null).
    const free = await teamKey(gw.url, 'rr-nobudget', 'member');
    expect((await call(gw.url, 'POST', '/v1/rerank', rerank('rr/units'), free.auth)).status).toBe(200);
    expect(await ledgerCosts('rr-nobudget', 'rr/units')).toEqual([null]);
  });

  test('without any price: refused as model_unpriced, saying what its price needs by what it is billed in', async () => {
    const m = await teamKey(gw.url, 'rr-bare', 'member');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'rr-bare', period: 'month', limit_usd: '0.01' });
    const units = await call(gw.url, 'POST', '/v1/rerank', rerank('rr/units-bare'), m.auth);
    expect(units.status).toBe(403);
    expect(units.body.error.message).toContain('Model "rr/units-bare" has no price (its reranks are billed in search units, so its price needs a searchUnit beside input and output)');
    expect(units.body.error.message).not.toContain('which input and output prices do not cover');
    expect(units.body.error.message).toContain('"searchUnit": "0.002"');
    const byTokens = await call(gw.url, 'POST', '/v1/rerank', rerank('rr/tokens-bare'), m.auth);
    expect(byTokens.status).toBe(403);
    expect(byTokens.body.error.message).toContain('Model "rr/tokens-bare" has no price, so');
    expect(byTokens.body.error.message).not.toContain('searchUnit');
    expect(await ledgerCosts('rr-bare', 'rr/units-bare')).toEqual([]);
    expect(await ledgerCosts('rr-bare', 'rr/tokens-bare')).toEqual([]);
  });

  test('with a searchUnit price: served, metered at its cost and charged to the budget', async () => {
    const m = await teamKey(gw.url, 'rr-priced', 'member');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'rr-priced', period: 'month', limit_usd: '0.01' });
    for (let i = 0; i < 3; i++) expect((await call(gw.url, 'POST', '/v1/rerank', rerank('rr/units-priced'), m.auth)).status).toBe(200);
    expect((await ledgerCosts('rr-priced', 'rr/units-priced')).map(Number)).toEqual([0.002, 0.002, 0.002]);
    expect(await settledUsed('rr-priced')).toBeCloseTo(0.006, 9);
  });

  test('billed in tokens (Voyage, Jina): token prices suffice; served, metered and charged', async () => {
    const m = await teamKey(gw.url, 'rr-tokens', 'member');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'rr-tokens', period: 'month', limit_usd: '0.01' });
    expect((await call(gw.url, 'POST', '/v1/rerank', rerank('rr/tokens'), m.auth)).status).toBe(200);
    expect((await ledgerCosts('rr-tokens', 'rr/tokens')).map(Number)).toEqual([0.00005]);
    expect(await settledUsed('rr-tokens')).toBeCloseTo(0.00005, 9);
  });
});

describe('images under a budget', () => {
  const content = (n: number, detail?: string) => [
    { type: 'text', text: 'describe' },
    ...Array.from({ length: n }, (_, i) => ({ type: 'image_url', image_url: { url: `https://img.example.com/${i}.png`, ...(detail ? { detail } : {}) } })),
  ];

  test('10 concurrent calls with 20 images each cannot overshoot a $0.01 budget; each is charged what it was billed', async () => {
    const m = await teamKey(gw.url, 'img-team', 'member');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'img-team', period: 'month', limit_usd: '0.01' });
    const body = { model: 'img/gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: content(20, 'low') }] };
    const results = await Promise.all(Array.from({ length: 10 }, () => call(gw.url, 'POST', '/v1/chat/completions', body, m.auth)));
    const statuses = results.map((r) => r.status);
    // One call is billed 56,670 prompt tokens ($0.0085): one fits, the rest are refused up front.
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 402)).toHaveLength(9);
    const used = await settledUsed('img-team');
    expect(used).toBeLessThanOrEqual(0.01);
    expect(used).toBeCloseTo((10 + 20 * 2833) * 0.15e-6 + 0.6e-6, 9);
  });

  test('a low-detail image reserves exactly the low worst case: a budget of that reservation admits the call, one nano-dollar less refuses it', async () => {
    const messages = [{ role: 'user', content: content(3, 'low') }];
    // What admission reserves (cost-estimate.ts): the characters of the messages without their image URLs,
    // 4 per token rounded up, plus 2,833 tokens per low-detail image, at $0.15 per million (150 nano-dollars
    // a token); one output token at $0.60 per million.
    const stripped = JSON.stringify(messages.map((msg) => ({ ...msg, content: msg.content.map((p) => ('image_url' in p ? { ...p, image_url: { ...p.image_url, url: '' } } : p)) })));
    const nanos = (Math.ceil(stripped.length / 4) + 3 * 2833) * 150 + 600;
    const usd = (n: number) => (n / 1e9).toFixed(9);
    const body = { model: 'img/gpt-4o-mini', max_tokens: 1, messages };
    for (const [team, limit, status] of [['img-low-fits', nanos, 200], ['img-low-short', nanos - 1, 402]] as const) {
      const m = await teamKey(gw.url, team, 'member');
      expect((await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: team, period: 'month', limit_usd: usd(limit) })).status).toBe(201);
      expect((await call(gw.url, 'POST', '/v1/chat/completions', body, m.auth)).status).toBe(status);
    }
  });

  test('the detail reaches the provider (it decides the bill), and high or unset detail reserves the high worst case', async () => {
    const m = await teamKey(gw.url, 'img-detail', 'member');
    await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'img-detail', period: 'month', limit_usd: '0.01' });
    detailsSeen.length = 0;
    const low = await call(gw.url, 'POST', '/v1/chat/completions', { model: 'img/gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: content(1, 'low') }] }, m.auth);
    expect(low.status).toBe(200);
    expect(detailsSeen).toEqual(['low']);
    // 2 high-detail images reserve 2 x 48,169 tokens ($0.0145): more than the budget, though this server would bill less.
    for (const detail of ['high', 'auto', undefined]) {
      const r = await call(gw.url, 'POST', '/v1/chat/completions', { model: 'img/gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: content(2, detail) }] }, m.auth);
      expect(r.status).toBe(402);
    }
    expect(detailsSeen).toEqual(['low']);
    const one = await call(gw.url, 'POST', '/v1/chat/completions', { model: 'img/gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: content(1, 'high') }] }, m.auth);
    expect(one.status).toBe(200);
    expect(detailsSeen).toEqual(['low', 'high']);
    // Settled to what the provider billed, not to the reservation.
    expect(await settledUsed('img-detail')).toBeCloseTo(2 * ((10 + 2833) * 0.15e-6 + 0.6e-6), 9);
  });
});
