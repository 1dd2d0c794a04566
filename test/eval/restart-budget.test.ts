import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import { countRows, seedCollection, startEvalFake, startEvalQuire, THREE_CONFIGS, waitForResults } from './eval-harness.js';


describe('benchmark runs survive restarts and stop at their budget', () => {
  let db: Db;
  let openai: FakeOpenAI;

  beforeAll(async () => {
    // Slow model calls, so a run is still going when Quire is stopped.
    openai = await startEvalFake(25);
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await openai?.close();
    await db?.close();
  });

  test('stop Quire in the middle of a run, start it again: the run completes without duplicating cases', async () => {
    const first = await startEvalQuire(db, openai);
    const seeded = await seedCollection(first.client);
    const created = await first.client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, configurations: THREE_CONFIGS });
    const total = created.progress.total;
    const doneSql = `SELECT count(*)::int AS n FROM benchmark_results WHERE benchmark_id = $1`;
    await waitForResults(db, created.id, 3);
    await first.quire.stop();
    const doneAtStop = await countRows(db, doneSql, created.id);
    expect(doneAtStop).toBeGreaterThanOrEqual(3);
    expect(doneAtStop).toBeLessThan(total);
    expect((await db.query<{ status: string }>(`SELECT status FROM benchmarks WHERE id = $1`, [created.id])).rows[0]!.status).toBe('running');

    const second = await startEvalQuire(db, openai);
    try {
      const b = await second.client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(b.status).toBe('completed');
      expect(b.progress.done).toBe(total);
      expect(await countRows(db, `SELECT count(DISTINCT (config_index, case_id))::int AS n FROM benchmark_results WHERE benchmark_id = $1`, created.id)).toBe(total);
      // Each finished case ran once; only the case in flight at the stop ran again (the gateway closes
      // first, so that case may also have retried once before the runner heard of the stop).
      const started = await countRows(db, `SELECT count(*)::int AS n FROM benchmark_queries WHERE benchmark_id = $1`, created.id);
      expect(started).toBeGreaterThanOrEqual(total);
      expect(started).toBeLessThanOrEqual(total + 3);
      expect(b.summary.every((s: any) => s.errors === 0)).toBe(true);
    } finally {
      await second.quire.stop();
    }
  }, 120_000);

  test('a budget cap stops the run cleanly and keeps its partial results', async () => {
    const { quire, client } = await startEvalQuire(db, openai);
    try {
      const seeded = await seedCollection(client, { docs: 20, queries: 10 });
      // One query embedding costs about 2e-7 USD here (about 10 tokens at $0.02 per million).
      const budget = 1e-6;
      const created = await client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, budget_usd: budget, configurations: [{ name: 'vector', mode: 'vector' }, { name: 'hybrid', mode: 'hybrid' }] });
      const b = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(b.status).toBe('stopped_budget');
      expect(b.error).toMatch(/budget/);
      expect(b.progress.done).toBeGreaterThan(0);
      expect(b.progress.done).toBeLessThan(b.progress.total);
      expect(b.spent_usd).toBeGreaterThan(0);
      expect(b.spent_usd).toBeLessThanOrEqual(budget);
      // Summaries cover only cases every configuration finished; a configuration's other cases are counted as excluded, not averaged.
      expect(b.summary[0].compared_cases).toBe(b.comparison_basis.cases);
      expect(b.summary[0].compared_cases + b.summary[0].excluded_cases + b.summary[0].errors).toBe(b.summary[0].cases_done);
      if (b.comparison_basis.cases > 0) expect(b.summary[0].metrics['ndcg@10'].n).toBe(b.comparison_basis.cases);
    } finally {
      await quire.stop();
    }
  }, 120_000);
});
