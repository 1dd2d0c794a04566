import { HEADERS } from '@quire/contracts';
import { openTestDatabase, type Db } from '@quire/db';
import { emptyUsage, type RerankingModelV1 } from '@quire/models';
import {
  fakeRank,
  rerankTokens,
  startFakeCohere,
  startFakeJina,
  startFakeTei,
  startFakeVoyage,
  type FakeCohere,
  type FakeJina,
  type FakeTei,
  type FakeVoyage,
} from '@quire/fakes';
import { identityHeader, micros, startHarness, type Harness } from '../testing/gateway-harness.js';

/**
 * `POST /v1/rerank` through the real adapters (Cohere v2, TEI, Jina, Voyage) against the fake
 * provider servers: the wire formats, usage, pricing and error mapping end to end.
 */

let db: Db;
let cohere: FakeCohere;
let tei: FakeTei;
let jina: FakeJina;
let voyage: FakeVoyage;
let gw: Harness;

const QUERY = 'laptop warranty claim';
const DOCS = ['The cafeteria opens at 8.', 'A laptop warranty claim needs the receipt.', 'Laptop bags are in aisle 3.', 'Warranty terms for phones.'];
const DOC_TOKENS = rerankTokens(QUERY, DOCS);

beforeAll(async () => {
  [db, cohere, tei, jina, voyage] = await Promise.all([
    openTestDatabase(),
    startFakeCohere({ apiKey: 'co-test' }),
    startFakeTei(),
    startFakeJina({ apiKey: 'jina-test' }),
    startFakeVoyage({ apiKey: 'voy-test' }),
  ]);
  gw = await startHarness(db, {
    providers: {},
    // The fakes listen on loopback, which provider base URLs may reach only when allowed.
    providerConfigs: {
      cohere: { type: 'cohere', baseURL: cohere.url, apiKey: 'co-test', allowLoopback: true },
      tei: { type: 'tei', baseURL: tei.url, allowLoopback: true },
      jina: { type: 'jina', baseURL: jina.url, apiKey: 'jina-test', allowLoopback: true },
      voyage: { type: 'voyage', baseURL: voyage.url, apiKey: 'voy-test', allowLoopback: true },
    },
    prices: {
      'cohere/rerank-v3.5': { input: '0', output: '0', searchUnit: '0.002' },
      // $1 per million tokens: the cost is the token count in micro-dollars.
      'tei/bge-reranker-base': { input: '1', output: '0' },
      'jina/jina-reranker-v2-base-multilingual': { input: '1', output: '0' },
      'voyage/rerank-2': { input: '1', output: '0' },
    },
    routes: `routes:
  rerank-ha:
    targets: [cohere/rerank-v3.5, tei/bge-reranker-base]
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 }
`,
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([cohere?.close(), tei?.close(), jina?.close(), voyage?.close()]);
  await db?.close();
});

beforeEach(() => {
  for (const fake of [cohere, tei, jina, voyage]) fake.script.reset();
});

interface Row {
  status: string;
  provider: string;
  model: string;
  route: string | null;
  attempt: number;
  capability: string;
  purpose: string;
  error_code: string | null;
  input_tokens: number;
  search_units: number;
  cost_usd: string | null;
  fallback_from: string | null;
  provider_request_id: string | null;
}

async function rows(traceId: string): Promise<Row[]> {
  const r = await db.query<Row>(
    `SELECT status, provider, model, route, attempt, capability, purpose, error_code, input_tokens, search_units, cost_usd::text AS cost_usd,
            fallback_from, provider_request_id
       FROM usage_ledger WHERE trace_id = $1 ORDER BY id`,
    [traceId],
  );
  return r.rows;
}

/** A platform service's call (signed identity): it may say why it calls, here `rerank`. */
const service = { ...identityHeader({ team_id: 'team-rerank', role: 'service' }), [HEADERS.purpose]: 'rerank' };
const rerank = (model: string, trace: string, extra: Record<string, unknown> = {}) =>
  gw.post('/v1/rerank', { model, query: QUERY, documents: DOCS, ...extra }, { ...service, 'x-request-id': trace });

/** What the fakes score, best first: the order every provider must come back in. */
const expected = (topN?: number) => fakeRank(QUERY, DOCS, topN);

describe('POST /v1/rerank through real rerank adapters', () => {
  test('Cohere v2: top_n is sent and respected, search units are billed and priced', async () => {
    const res = await rerank('cohere/rerank-v3.5', 'rr-cohere', { top_n: 2, return_documents: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ model: 'cohere/rerank-v3.5', usage: { search_units: 1 } });
    expect(body.id).toMatch(/^rerank-/);
    expect(body.results).toEqual(expected(2).map((r) => ({ index: r.index, relevance_score: r.score, document: { text: DOCS[r.index] } })));
    // What went over the wire is Cohere's v2 request, with the bare model id and our key.
    const sent = cohere.requests.at(-1)!;
    expect(sent.path).toBe('/v2/rerank');
    expect(sent.headers.authorization).toBe('Bearer co-test');
    expect(sent.body).toEqual({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, top_n: 2 });
    expect(await rows('rr-cohere')).toEqual([
      expect.objectContaining({
        status: 'ok', provider: 'cohere', model: 'rerank-v3.5', capability: 'rerank', purpose: 'rerank', attempt: 1,
        search_units: 1, input_tokens: 0, cost_usd: '0.002000000000', error_code: null,
      }),
    ]);
  });

  test('TEI: every document is scored upstream, the gateway cuts to top_n, tokens come from x-compute-tokens', async () => {
    const res = await rerank('tei/bge-reranker-base', 'rr-tei', { top_n: 3 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.results).toEqual(expected(3).map((r) => ({ index: r.index, relevance_score: r.score })));
    expect(body.usage).toEqual({ total_tokens: DOC_TOKENS });
    expect(tei.requests.at(-1)).toMatchObject({ path: '/rerank', body: { query: QUERY, texts: DOCS } });
    expect(await rows('rr-tei')).toEqual([
      expect.objectContaining({ status: 'ok', provider: 'tei', capability: 'rerank', purpose: 'rerank', input_tokens: DOC_TOKENS, search_units: 0, cost_usd: micros(DOC_TOKENS) }),
    ]);
  });

  test.each([
    ['jina', 'jina/jina-reranker-v2-base-multilingual'],
    ['voyage', 'voyage/rerank-2'],
  ])('%s: results sorted by relevance, top_n respected, tokens metered', async (provider, model) => {
    const res = await rerank(model, `rr-${provider}`, { top_n: 2 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.results).toEqual(expected(2).map((r) => ({ index: r.index, relevance_score: r.score })));
    expect(body.usage).toEqual({ total_tokens: DOC_TOKENS });
    expect(await rows(`rr-${provider}`)).toEqual([
      expect.objectContaining({ status: 'ok', provider, capability: 'rerank', input_tokens: DOC_TOKENS, cost_usd: micros(DOC_TOKENS) }),
    ]);
  });

  test('a Cohere 429 is retried after its retry-after; both attempts are in the ledger', async () => {
    cohere.script.failNext(1, { status: 429, headers: { 'retry-after': '0' } });
    const res = await rerank('cohere/rerank-v3.5', 'rr-429-retry', { top_n: 1 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).results).toHaveLength(1);
    expect((await rows('rr-429-retry')).map((r) => [r.attempt, r.status, r.error_code, r.cost_usd])).toEqual([
      [1, 'error', 'provider_rate_limited', micros(0)],
      [2, 'ok', null, '0.002000000000'],
    ]);
  });

  test('a Cohere 429 asking for a longer wait than allowed answers an OpenAI-style 429 with Retry-After', async () => {
    cohere.script.failNext(1, { status: 429, headers: { 'retry-after': '30' } });
    const res = await rerank('cohere/rerank-v3.5', 'rr-429-final');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = (await res.json()) as any;
    expect(body).toEqual({
      // Cohere's text is about the operator's key ("Trial key ..."): the log has it, the caller gets the code's words.
      error: { type: 'rate_limit_error', code: 'provider_rate_limited', message: 'cohere: Provider "cohere" rate-limited the request (HTTP 429).', param: null, request_id: 'rr-429-final' },
    });
    expect((await rows('rr-429-final')).map((r) => [r.status, r.error_code])).toEqual([['error', 'provider_rate_limited']]);
  });

  test('TEI overloaded (429 error_type overloaded) is provider_overloaded: retried, then 503 with the hint', async () => {
    tei.script.failNext(2, { status: 429, headers: { 'retry-after': '0.01' } });
    const res = await rerank('tei/bge-reranker-base', 'rr-tei-overloaded');
    expect(res.status).toBe(503);
    // 10 ms rounds up to whole seconds: a client told to wait 0 s would come straight back.
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as any).error).toMatchObject({ type: 'upstream_error', code: 'provider_overloaded' });
    expect((await rows('rr-tei-overloaded')).map((r) => [r.attempt, r.error_code])).toEqual([
      [1, 'provider_overloaded'],
      [2, 'provider_overloaded'],
    ]);
  });

  test('a request the provider rejects (TEI 422) is not retried and answers 400', async () => {
    tei.script.failNext(1, { status: 422 });
    const res = await rerank('tei/bge-reranker-base', 'rr-tei-422');
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', code: 'provider_bad_request' });
    expect(await rows('rr-tei-422')).toHaveLength(1);
  });

  test('a route falls back from an overloaded Cohere to TEI; every attempt is metered', async () => {
    cohere.script.failNext(2, { status: 503 });
    const res = await rerank('rerank-ha', 'rr-fallback', { top_n: 2 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.model).toBe('rerank-ha');
    expect(body.results.map((r: any) => r.index)).toEqual(expected(2).map((r) => r.index));
    expect((await rows('rr-fallback')).map((r) => [r.provider, r.status, r.error_code, r.route, r.fallback_from])).toEqual([
      ['cohere', 'error', 'provider_overloaded', 'rerank-ha', null],
      ['cohere', 'error', 'provider_overloaded', 'rerank-ha', null],
      ['tei', 'ok', null, 'rerank-ha', 'cohere/rerank-v3.5'],
    ]);
  });
});

describe('a rerank client that goes away', () => {
  test('cancels the call upstream: no retry, no fallback, one row metered as aborted', async () => {
    const called: string[] = [];
    const cancelled: string[] = [];
    // Answers after 2 s unless its call is cancelled first.
    const slow = (provider: string): RerankingModelV1 => ({
      specificationVersion: 'v1', provider, modelId: 'slow', maxDocumentsPerCall: 100, billedIn: 'tokens',
      doRerank: ({ abortSignal }) =>
        new Promise((resolve, reject) => {
          called.push(provider);
          const timer = setTimeout(() => resolve({ results: [{ index: 0, relevanceScore: 1 }], usage: emptyUsage(true) }), 2_000);
          abortSignal?.addEventListener('abort', () => {
            clearTimeout(timer);
            cancelled.push(provider);
            reject(new DOMException('The operation was aborted.', 'AbortError'));
          }, { once: true });
        }),
    });
    const gw2 = await startHarness(db, {
      providers: {},
      rerankers: { 'slow-a/slow': slow('slow-a'), 'slow-b/slow': slow('slow-b') },
      routes: `routes:
  rerank-slow:
    targets: [slow-a/slow, slow-b/slow]
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 }
`,
    });
    try {
      const client = new AbortController();
      const sent = gw2.post('/v1/rerank', { model: 'rerank-slow', query: QUERY, documents: DOCS }, { 'x-request-id': 'rr-gone' }, client.signal).catch((e: unknown) => e);
      while (called.length === 0) await new Promise((r) => setTimeout(r, 5));
      client.abort();
      await sent;
      let metered = await rows('rr-gone');
      for (let i = 0; i < 200 && metered.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        metered = await rows('rr-gone');
      }
      expect(metered.map((r) => [r.provider, r.status])).toEqual([['slow-a', 'aborted']]);
      expect(cancelled).toEqual(['slow-a']);
      await new Promise((r) => setTimeout(r, 50));
      expect(called).toEqual(['slow-a']);
    } finally {
      await gw2.close();
    }
  });
});
