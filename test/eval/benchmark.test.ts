import { openTestDatabase, type Db } from '@quire/db';
import { formatSummaryTable } from '@quire/eval';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { printBenchmark } from '../../packages/eval/src/cli/eval-cli.js';
import { seedCollection, startEvalFake, startEvalQuire, THREE_CONFIGS, type TestEvalClient } from './eval-harness.js';

describe('benchmarks end to end (fake providers)', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;
  let seeded: Awaited<ReturnType<typeof seedCollection>>;
  let firstRun: string;

  beforeAll(async () => {
    openai = await startEvalFake();
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
    seeded = await seedCollection(client);
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  test('BEIR import maps every qrel to an uploaded document', async () => {
    expect(seeded.evalSet.cases).toBe(12);
    expect(seeded.evalSet.unmapped_count).toBe(0);
    const set = await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}`);
    expect(set.data[0].relevant).toHaveLength(2);
    expect(set.data[0].relevant.map((r: any) => r.grade).sort()).toEqual([1, 2]);
  });

  test('vector, keyword and hybrid (+ answers with a judge): a comparison table with CIs, cost and latency per query', async () => {
    const created = await client.request('POST', '/v1/benchmarks', {
      eval_set_id: seeded.evalSet.id,
      judge_model: 'openai/gpt-4o-mini',
      configurations: [...THREE_CONFIGS, { name: 'hybrid+answer', mode: 'hybrid', top_k: 5, answer: true }],
    });
    expect(created.progress.total).toBe(48);
    const b = await client.waitForBenchmark(created.id, { timeoutMs: 90_000 });
    firstRun = created.id;
    expect(b.status).toBe('completed');
    expect(b.progress.done).toBe(48);
    const [vector, keyword, hybrid, answer] = b.summary;
    for (const s of [vector, keyword, hybrid]) {
      expect(s.errors).toBe(0);
      const ndcg = s.metrics['ndcg@10'];
      expect(ndcg.n).toBe(12);
      expect(ndcg.lower).toBeLessThanOrEqual(ndcg.mean);
      expect(ndcg.upper).toBeGreaterThanOrEqual(ndcg.mean);
      expect(s.latency_ms.total.p95).toBeGreaterThanOrEqual(s.latency_ms.total.p50);
    }
    expect(keyword.metrics['ndcg@10'].mean).toBeGreaterThan(0.3);
    // Keyword search calls no model; vector and hybrid pay for one query embedding each.
    expect(keyword.cost_usd.per_query).toBe(0);
    expect(vector.cost_usd.per_query).toBeGreaterThan(0);
    expect(vector.cost_usd.per_query_by_stage['query-embed']).toBeGreaterThan(0);
    expect(hybrid.latency_ms.embed.p50).toBeGreaterThan(0);
    // Answers: generate cost, citation precision, judge scores (judge cost kept apart).
    expect(answer.cost_usd.per_query_by_stage.generate).toBeGreaterThan(0);
    expect(answer.cost_usd.judge_total).toBeGreaterThan(0);
    // BEIR cases carry no reference answer, so the judge grades faithfulness only (correctness null).
    expect(answer.metrics.correctness).toBeUndefined();
    expect(answer.metrics.faithfulness.mean).toBe(0.5);
    expect(answer.metrics.citation_precision.n).toBeGreaterThan(0);
    expect(b.pareto.vs_cost).toContain('keyword');

    const cmp = await client.request('GET', `/v1/benchmarks/${b.id}/compare?a=keyword&b=vector`);
    const ndcg = cmp.comparisons.find((c: any) => c.metric === 'ndcg@10');
    expect(ndcg.n).toBe(12);
    expect(ndcg.winner === null).toBe(!ndcg.significant);
    const cost = cmp.comparisons.find((c: any) => c.metric === 'cost_usd');
    expect(cost.winner).toBe('a');

    const lines: string[] = [];
    await printBenchmark(client, b.id, (s) => lines.push(s));
    const out = lines.join('\n');
    expect(out).toContain('| vector |');
    expect(out).toMatch(/\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
    console.log(formatSummaryTable(b.summary, ['ndcg@10', 'recall@10', 'mrr']) + '\n\n' + out);

    const list = await client.request('GET', '/v1/benchmarks');
    expect(list.data.map((x: any) => x.id)).toContain(b.id);
  }, 120_000);

  test('replay a logged query under another configuration, and turn it into an eval case', async () => {
    const search = await client.request('POST', `/v1/collections/${seeded.collection.id}/search`, { query: seeded.set.queries[1]!.text, mode: 'keyword' });
    const replay = await client.request('POST', `/v1/queries/${search.query_id}/replay`, { configuration: { name: 'vec', mode: 'vector', top_k: 5 } });
    expect(replay.original_query_id).toBe(search.query_id);
    expect(replay.results.length).toBeGreaterThan(0);
    expect(replay.usage.by_stage['query-embed'].calls).toBe(1);
    const stored = await client.request('GET', `/v1/queries/${replay.query_id}`);
    expect(stored.mode).toBe('vector');

    const added = await client.request('POST', `/v1/queries/${search.query_id}/to-eval-case`, { eval_set_id: seeded.evalSet.id, relevant_document_ids: [search.results[0].document_id] });
    expect(added.source_query_id).toBe(search.query_id);
    const set = await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}`);
    expect(set.cases).toBe(13);
  });

  test('online quality per day excludes benchmark traffic', async () => {
    const search = await client.request('POST', `/v1/collections/${seeded.collection.id}/search`, { query: 'what about reports', mode: 'keyword' });
    await client.request('POST', `/v1/queries/${search.query_id}/feedback`, { rating: 'up' });
    const q = await client.request('GET', `/v1/collections/${seeded.collection.id}/quality`);
    expect(q.days).toHaveLength(1);
    const [day] = q.days;
    // Two searches from the tests above plus this one; the benchmark's 48 queries are not counted.
    expect(day.queries).toBe(3);
    expect(day.thumbs_up_share).toBe(1);
    expect(day.feedback_rate).toBeCloseTo(1 / 3, 6);
    expect(day.latency_ms.p95).not.toBeNull();
  });

  test('promotion gate: refused without evidence, allowed by a benchmark, forced by an admin into the audit log', async () => {
    const cid = seeded.collection.id;
    const build = async (model: string) => {
      const built = await client.request('POST', `/v1/collections/${cid}/index-versions`, { embedding_model: model });
      for (;;) {
        const list = await client.request('GET', `/v1/collections/${cid}/index-versions`);
        const v = list.data.find((x: any) => x.id === built.id);
        if (v.status === 'ready') return built.id as string;
        if (v.status === 'failed') throw new Error('build failed');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const promote = (vid: string, body: object = {}) =>
      fetch(`${quire.url}/v1/collections/${cid}/index-versions/${vid}/promote`, { method: 'POST', headers: { authorization: `Bearer ${(client as any).apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const current = async () => (await db.query<{ v: string }>(`SELECT current_index_version_id AS v FROM collections WHERE id = $1`, [cid])).rows[0]!.v;

    // The fakes embed every model alike, so the new version measures the same: non-inferior, promoted.
    const same = await build('openai/text-embedding-3-large');
    const refused = await promote(same);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as any).evidence).toBeNull();
    const run = await client.request('POST', '/v1/benchmarks', {
      eval_set_id: seeded.evalSet.id,
      configurations: [{ name: 'current', mode: 'vector' }, { name: 'candidate', mode: 'vector', index_version_id: same }],
    });
    expect((await client.waitForBenchmark(run.id, { timeoutMs: 60_000 })).status).toBe('completed');
    const ok = await promote(same);
    const okBody = (await ok.json()) as any;
    expect(ok.status).toBe(200);
    expect(okBody.forced).toBe(false);
    expect(okBody.evidence.benchmark_id).toBe(run.id);
    expect(okBody.evidence.comparison.diff.lower).toBeGreaterThanOrEqual(-0.02);
    expect(await current()).toBe(same);

    // No benchmark for this one: 409, then an admin forces it and the audit log says so.
    const other = await build('openai/text-embedding-ada-002');
    expect((await promote(other)).status).toBe(409);
    // Keyword search never reads vectors: a keyword "comparison" of index versions is refused, not evidence.
    const keywordPair = await fetch(`${quire.url}/v1/benchmarks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(client as any).apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ eval_set_id: seeded.evalSet.id, configurations: [{ name: 'kw', mode: 'keyword' }, { name: 'kw-other', mode: 'keyword', index_version_id: other }] }),
    });
    expect(keywordPair.status).toBe(400);
    expect(((await keywordPair.json()) as any).error.message).toContain('keyword search does not use vectors');
    const forced = await promote(other, { force: true });
    expect(forced.status).toBe(200);
    expect(((await forced.json()) as any).forced).toBe(true);
    const audit = await db.query<{ code: string; target_id: string }>(`SELECT code, target_id FROM audit_log WHERE action = 'index_version.promote' ORDER BY id`);
    expect(audit.rows.map((r) => r.code)).toEqual(['promoted', 'forced']);
    expect(await current()).toBe(other);
    const decisions = await db.query<{ outcome: string }>(`SELECT outcome FROM index_version_promotions WHERE collection_id = $1 ORDER BY id`, [cid]);
    expect(decisions.rows.map((r) => r.outcome)).toEqual(['refused', 'promoted', 'refused', 'forced']);
  }, 90_000);

  test('a judged document deleted after a run: its questions leave the summary and the comparison, and are listed as stale', async () => {
    const set = await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}`);
    const gone = set.data[0].relevant[0].document_id as string;
    const affected = set.data.filter((c: any) => c.relevant.some((r: any) => r.document_id === gone)).length;
    expect(affected).toBeGreaterThan(0);
    await client.request('DELETE', `/v1/documents/${gone}`);

    const b = await client.request('GET', `/v1/benchmarks/${firstRun}`);
    expect(b.stale_cases.count).toBe(affected);
    expect(b.summary[0].metrics['ndcg@10'].n).toBe(12 - affected);
    const cmp = await client.request('GET', `/v1/benchmarks/${firstRun}/compare?a=keyword&b=vector`);
    expect(cmp.stale_cases).toBe(affected);
    expect(cmp.comparisons.find((c: any) => c.metric === 'ndcg@10').n).toBe(12 - affected);
  });
});
