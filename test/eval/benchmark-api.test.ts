import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { E2E_ADMIN_KEY } from '../e2e/quire-harness.js';
import { seedCollection, startEvalFake, startEvalQuire, type TestEvalClient } from './eval-harness.js';

/** The benchmark API through the gateway: models checked up front, per-question results, every list paged. */
describe('benchmark API: model checks, per-question results, pagination', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;
  let seeded: Awaited<ReturnType<typeof seedCollection>>;
  let run: any;

  const raw = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${quire.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${E2E_ADMIN_KEY}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  /** Every page of a list, following next_cursor. */
  async function allPages(path: string): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let pages = 0;
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page: { data: any[]; next_cursor: string | null } = await client.request('GET', `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.data);
      pages++;
      cursor = page.next_cursor;
    } while (cursor);
    return { items, pages };
  }

  beforeAll(async () => {
    openai = await startEvalFake();
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
    seeded = await seedCollection(client, { docs: 12, queries: 5 });
    const created = await client.request('POST', '/v1/benchmarks', {
      eval_set_id: seeded.evalSet.id,
      configurations: [{ name: 'vector', mode: 'vector' }, { name: 'keyword', mode: 'keyword', top_k: 5 }],
    });
    run = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  test('a configuration naming a model the gateway does not serve is refused with 400 unknown_model, before anything runs', async () => {
    const before = (await client.request('GET', '/v1/benchmarks?limit=100')).data.length;
    const refused = async (body: object) => {
      const r = await raw('/v1/benchmarks', { method: 'POST', body: { eval_set_id: seeded.evalSet.id, ...body } });
      return { status: r.status, body: (await r.json()) as any };
    };
    const gen = await refused({ configurations: [{ name: 'a', mode: 'vector' }, { name: 'b', mode: 'vector', generation_model: 'mistral/mistral-small-latest' }] });
    expect(gen.status).toBe(400);
    expect(gen.body.error).toMatchObject({ code: 'unknown_model', param: 'configurations.1.generation_model' });
    expect(gen.body.error.message).toContain('mistral/mistral-small-latest');
    expect(gen.body.unknown_models).toEqual([{ param: 'configurations.1.generation_model', model: 'mistral/mistral-small-latest' }]);

    const rerank = await refused({ configurations: [{ name: 'a', mode: 'vector', rerank_model: 'nosuchprov/x' }] });
    expect(rerank.status).toBe(400);
    expect(rerank.body.error).toMatchObject({ code: 'unknown_model', param: 'configurations.0.rerank_model' });

    const judge = await refused({ judge_model: 'nosuchprov/judge', configurations: [{ name: 'a', mode: 'vector', answer: true }] });
    expect(judge.status).toBe(400);
    expect(judge.body.unknown_models).toEqual([{ param: 'judge_model', model: 'nosuchprov/judge' }]);

    // Nothing was queued for the refused requests; models the gateway serves are accepted as before,
    // and so is a model of a served provider that the catalog does not list yet (providers run models newer than it).
    expect((await client.request('GET', '/v1/benchmarks?limit=100')).data.length).toBe(before);
    const newer = await raw('/v1/benchmarks', { method: 'POST', body: { eval_set_id: seeded.evalSet.id, configurations: [{ name: 'a', mode: 'vector', generation_model: 'openai/gpt-newer-than-the-catalog' }] } });
    expect(newer.status).toBe(202);
    await client.waitForBenchmark(((await newer.json()) as any).id, { timeoutMs: 60_000 });
    const fine = await raw('/v1/benchmarks', { method: 'POST', body: { eval_set_id: seeded.evalSet.id, judge_model: 'openai/gpt-4o-mini', configurations: [{ name: 'a', mode: 'vector', generation_model: 'openai/gpt-4o-mini' }] } });
    expect(fine.status).toBe(202);
    await client.waitForBenchmark(((await fine.json()) as any).id, { timeoutMs: 60_000 });
  }, 90_000);

  test('per-question results: ranked documents, metrics, cost and latency, paged in a stable order and exported as JSONL', async () => {
    expect(run.status).toBe('completed');
    const total = run.progress.total as number;
    const first = await client.request('GET', `/v1/benchmarks/${run.id}/results?limit=3`);
    expect(first.data).toHaveLength(3);
    expect(first.next_cursor).toEqual(expect.any(String));
    const { items, pages } = await allPages(`/v1/benchmarks/${run.id}/results?limit=3`);
    expect(pages).toBe(Math.ceil(total / 3));
    expect(items).toHaveLength(total);
    expect(new Set(items.map((r) => `${r.configuration.index}:${r.case_id}`)).size).toBe(total);
    // Configuration by configuration, each in the run's case order.
    expect(items.map((r) => r.configuration.name)).toEqual([...Array(total / 2).fill('vector'), ...Array(total / 2).fill('keyword')]);
    expect(items.slice(0, total / 2).map((r) => r.case_id)).toEqual(items.slice(total / 2).map((r) => r.case_id));

    const vector = items[0];
    expect(vector).toMatchObject({ object: 'benchmark_result', status: 'ok', error: null, stale: false });
    expect(vector.question).toMatch(/^what about/);
    expect(vector.ranked.length).toBeGreaterThan(0);
    expect(vector.ranked[0]).toEqual({ rank: 1, chunk_id: expect.any(String), document_id: expect.any(String) });
    expect(vector.metrics['ndcg@10']).toEqual(expect.any(Number));
    expect(vector.latency_ms.total).toBeGreaterThan(0);
    expect(vector.cost_usd.total).toBeGreaterThan(0);
    expect(vector.cost_usd.by_stage['query-embed']).toBeGreaterThan(0);
    // The figures add up to the summary's: mean nDCG@10 of the vector configuration over its questions.
    const ndcg = items.filter((r) => r.configuration.name === 'vector').map((r) => r.metrics['ndcg@10'] as number);
    expect(ndcg.reduce((a, b) => a + b, 0) / ndcg.length).toBeCloseTo(run.summary[0].metrics['ndcg@10'].mean, 12);

    const keyword = await allPages(`/v1/benchmarks/${run.id}/results?configuration=keyword&limit=2`);
    expect(keyword.items).toHaveLength(total / 2);
    expect(keyword.items.every((r) => r.configuration.name === 'keyword' && r.cost_usd.total === 0 && r.ranked.length <= 5)).toBe(true);

    const jsonl = await raw(`/v1/benchmarks/${run.id}/results?format=jsonl&limit=2`);
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.configuration.index}:${l.case_id}`)).toEqual(items.map((r) => `${r.configuration.index}:${r.case_id}`));

    const bad = await raw(`/v1/benchmarks/${run.id}/results?cursor=not-a-cursor`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.param).toBe('cursor');
    expect((await raw(`/v1/benchmarks/${run.id}/results?configuration=nope`)).status).toBe(400);
  }, 60_000);

  test('benchmarks, eval sets and an eval set\'s cases are listed page by page', async () => {
    const another = await client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, configurations: [{ name: 'kw', mode: 'keyword' }] });
    await client.waitForBenchmark(another.id, { timeoutMs: 60_000 });
    const runs = await allPages(`/v1/benchmarks?eval_set_id=${seeded.evalSet.id}&limit=1`);
    expect(runs.items.length).toBeGreaterThanOrEqual(2);
    expect(runs.items[0].id).toBe(another.id);
    expect(runs.pages).toBe(runs.items.length);
    expect(new Set(runs.items.map((b) => b.id)).size).toBe(runs.items.length);
    expect(runs.items.map((b) => b.id)).toContain(run.id);
    // Newest first.
    const created = runs.items.map((b) => b.created_at);
    expect([...created].sort().reverse()).toEqual(created);

    const second = await client.request('POST', '/v1/eval-sets', { collection_id: seeded.collection.id, name: 'second set' });
    const sets = await allPages(`/v1/eval-sets?collection_id=${seeded.collection.id}&limit=1`);
    expect(sets.items.map((s) => s.id)).toEqual([second.id, seeded.evalSet.id]);
    expect(sets.pages).toBe(2);

    const cases = seeded.evalSet.cases as number;
    const firstPage = await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}?limit=2`);
    expect(firstPage).toMatchObject({ object: 'eval_set', id: seeded.evalSet.id, cases });
    expect(firstPage.data).toHaveLength(2);
    const rest = await allPages(`/v1/eval-sets/${seeded.evalSet.id}/cases?limit=2`);
    // From the start through /cases, and from the first page's cursor on: the same cases, in ordinal order.
    expect(rest.items).toHaveLength(cases);
    const ordinals = rest.items.map((c) => Number(c.ordinal));
    expect(ordinals).toEqual([...ordinals].sort((a, b) => a - b));
    const afterFirst = await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}/cases?limit=100&cursor=${encodeURIComponent(firstPage.next_cursor)}`);
    expect([...firstPage.data, ...afterFirst.data].map((c: any) => c.id)).toEqual(rest.items.map((c) => c.id));
    expect(afterFirst.next_cursor).toBeNull();
  }, 60_000);
});
