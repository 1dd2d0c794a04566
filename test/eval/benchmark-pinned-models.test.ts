import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import type { CollectionForQuery } from '../../services/retrieval/src/collections/collection-repository.js';
import type { SearchDeps } from '../../services/retrieval/src/search/search-pipeline.js';
import { applyConfiguration } from '../../services/retrieval/src/eval/case-executor.js';
import type { StoredConfiguration } from '../../services/retrieval/src/eval/eval-schemas.js';
import { seedCollection, startEvalFake, startEvalQuire, waitForResults } from './eval-harness.js';

/**
 * A configuration that uses "the collection's model" (`answer: true` without a generation model, no
 * `rerank_model`) is pinned to the models the collection had when the run was created, as its index
 * version is: a collection edited while the run is interrupted must not give the resumed half of one
 * configuration another model (the report would show one configuration with mixed models).
 */
describe('a benchmark configuration keeps the models it resolved at creation', () => {
  let db: Db;
  let openai: FakeOpenAI;

  beforeAll(async () => {
    // Slow model calls, so the run is still going when Quire is stopped.
    openai = await startEvalFake(25);
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await openai?.close();
    await db?.close();
  });

  test("the collection's generation and rerank models change mid-run; the resumed run keeps the ones it started with", async () => {
    const first = await startEvalQuire(db, openai);
    const seeded = await seedCollection(first.client);
    const created = await first.client.request('POST', '/v1/benchmarks', {
      eval_set_id: seeded.evalSet.id,
      configurations: [
        { name: 'answers', mode: 'hybrid', top_k: 5, answer: true },
        { name: 'retrieval', mode: 'vector', top_k: 5 },
      ],
    });
    // The run's view says which models each configuration uses.
    expect(created.configurations.map((c: any) => [c.name, c.resolved_generation_model, c.resolved_rerank_model])).toEqual([
      ['answers', 'openai/gpt-4o-mini', null],
      ['retrieval', null, null],
    ]);
    await waitForResults(db, created.id, 2);
    // Someone edits the collection's settings (its models for live traffic) while the run is under way:
    // another generation model, and a reranker this deployment cannot call.
    await first.client.request('PATCH', `/v1/collections/${seeded.collection.id}`, { generation_model: 'openai/gpt-4o', rerank_model: 'cohere/rerank-v3.5' });
    await first.quire.stop();
    const doneAtStop = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM benchmark_results WHERE benchmark_id = $1`, [created.id])).rows[0]!.n);
    expect(doneAtStop).toBeLessThan(created.progress.total);

    const second = await startEvalQuire(db, openai);
    try {
      const b = await second.client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(b.status).toBe('completed');
      const models = await db.query<{ model: string }>(
        `SELECT DISTINCT l.model FROM benchmark_results r JOIN usage_ledger l ON l.query_id = r.query_id
          WHERE r.benchmark_id = $1 AND r.config_index = 0 AND l.purpose = 'generate' ORDER BY l.model`,
        [created.id],
      );
      expect(models.rows.map((r) => r.model)).toEqual(['gpt-4o-mini']);
      // No case was reranked (the collection had no reranker when the run was created), so none failed on it.
      expect(b.summary.map((s: any) => s.errors)).toEqual([0, 0]);
      const reranked = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM benchmark_results r JOIN queries q ON q.id = r.query_id WHERE r.benchmark_id = $1 AND q.models ? 'rerank'`,
        [created.id],
      );
      expect(Number(reranked.rows[0]!.n)).toBe(0);
      expect(b.configurations[0]).toMatchObject({ resolved_generation_model: 'openai/gpt-4o-mini', resolved_rerank_model: null });
    } finally {
      await second.quire.stop();
    }
  }, 150_000);
});

describe('applyConfiguration', () => {
  // The index version is the collection's own, so nothing is read from the database.
  const deps = {} as SearchDeps;
  const base: CollectionForQuery = { id: 'c', name: 'c', generationModel: 'openai/gpt-4o', indexVersionId: 'v1', embeddingModel: 'openai/text-embedding-3-small', dimensions: 64, rerankModel: 'cohere/rerank-v3.5' };
  const config = (extra: Partial<StoredConfiguration> = {}): StoredConfiguration => ({ name: 'x', mode: 'hybrid', top_k: 10, answer: true, resolved_index_version_id: 'v1', ...extra });

  test('uses the models a run stored at creation, whatever the collection has now', async () => {
    const view = await applyConfiguration(deps, base, config({ resolved_generation_model: 'openai/gpt-4o-mini', resolved_rerank_model: null }));
    expect([view.generationModel, view.rerankModel]).toEqual(['openai/gpt-4o-mini', null]);
  });

  test("a run stored before models were pinned keeps reading the collection's current models", async () => {
    const view = await applyConfiguration(deps, base, config());
    expect([view.generationModel, view.rerankModel]).toEqual(['openai/gpt-4o', 'cohere/rerank-v3.5']);
    const named = await applyConfiguration(deps, base, config({ generation_model: 'openai/gpt-4o-mini', rerank_model: 'jina/jina-reranker-v2' }));
    expect([named.generationModel, named.rerankModel]).toEqual(['openai/gpt-4o-mini', 'jina/jina-reranker-v2']);
  });
});
