/**
 * What a benchmark run measures and reports: its frozen cases, configurations that failed outright,
 * questions with nothing relevant, metrics at shared cut-offs, and which configurations promotion pairs.
 */
import { loadMigrations, migrate, openPGlite, openTestDatabase, type Db } from '@quire/db';
import { ProviderError } from '@quire/models';
import { AppError, createLogger } from '@quire/server-kit';
import { createBm25KeywordRetriever } from '../search/bm25-retriever.js';
import { createFakeGatewayModels, type FakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { getBenchmark, insertBenchmark, loadResults } from './benchmark-repo.js';
import { benchmarkView, compareConfigurations, summarize } from './benchmark-report.js';
import { BenchmarkRunner } from './benchmark-runner.js';
import { scoreRetrieval } from './case-executor.js';
import { addCases, createEvalSet, type NewCase } from './eval-repo.js';
import type { StoredConfiguration } from './eval-schemas.js';
import { pickPair } from './promotion.js';

const TEAM = 'team-bench-integrity';
const SECRET = 'test-secret-test-secret-test-secret-0123';
const IDENTITY = { team_id: TEAM, key_id: 'key-bench', role: 'admin' as const, groups: [] };
let db: Db;
let seeded: SeededCollection;

beforeAll(async () => {
  db = await openTestDatabase();
  seeded = await seedCollection(db, { teamId: TEAM, name: 'integrity', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
});
afterAll(async () => {
  await db?.close();
});

/** Runs a run to its end in this process, as the queue's worker would. */
async function runToEnd(id: string, models: FakeGatewayModels = createFakeGatewayModels(db, DIMENSIONS)): Promise<void> {
  const deps = { db, models, keyword: createBm25KeywordRetriever(db), internalSecret: SECRET, logger: createLogger({}, 'error'), attempts: 1 };
  const queue = { enqueue: async (p: { benchmarkId: string }) => ({ jobId: `benchmark-${p.benchmarkId}` }) };
  const runner = new BenchmarkRunner(deps, queue as never);
  await (runner as unknown as { handle(id: string): Promise<void> }).handle(id);
}

const config = (name: string, extra: Partial<StoredConfiguration> = {}): StoredConfiguration => ({ name, mode: 'vector', top_k: 10, answer: false, resolved_index_version_id: seeded.indexVersionId, ...extra });

async function newRun(cases: NewCase[], configurations: StoredConfiguration[]) {
  const setId = await createEvalSet(db, { teamId: TEAM, collectionId: seeded.collectionId, name: `set ${configurations.map((c) => c.name).join(' ')}` });
  const caseIds = await db.transaction((tx) => addCases(tx, setId, cases));
  const id = await insertBenchmark(db, { teamId: TEAM, evalSetId: setId, collectionId: seeded.collectionId, configurations, judgeModel: null, budgetUsd: null, identity: IDENTITY });
  return { setId, caseIds, id };
}

const about = (documentIndex: number, question: string, grade = 1): NewCase => ({ question, relevant: [{ document_id: seeded.documentIds[documentIndex]!, grade }] });
const view = async (id: string) => benchmarkView(db, await getBenchmark(db, TEAM, id));

test('a run measures the cases its set held when it was created: later additions are not run, deletions are reported', async () => {
  const { setId, caseIds, id } = await newRun([about(0, 'When is high tide at Port Zephyr?'), about(0, 'Where do ferries leave from?'), about(1, 'How do I keep slugs away?')], [config('vec'), config('kw', { mode: 'keyword' })]);
  const [added] = await db.transaction((tx) => addCases(tx, setId, [about(1, 'Added after the run was created: when to prune roses?')]));
  await db.query('DELETE FROM eval_cases WHERE id = $1', [caseIds[1]]);

  await runToEnd(id);

  // Only the frozen cases still in the set ran (and were paid for): two per configuration.
  const ran = await db.query<{ case_id: string }>(`SELECT case_id FROM benchmark_results WHERE benchmark_id = $1`, [id]);
  expect(new Set(ran.rows.map((r) => r.case_id))).toEqual(new Set([caseIds[0], caseIds[2]]));
  expect(ran.rows).toHaveLength(4);
  expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM benchmark_queries WHERE benchmark_id = $1`, [id])).rows[0]!.n).toBe(4);
  const v = await view(id);
  expect(v.status).toBe('completed');
  expect(v.progress).toMatchObject({ cases_per_configuration: 3, total: 6, done: 4, per_configuration: [2, 2] });
  expect(v.deleted_cases).toEqual({ count: 1, case_ids: [caseIds[1]] });
  expect(v.comparison_basis.cases).toBe(2);
  // Even results written for a non-frozen case (a run created before cases were frozen) stay out of the figures.
  await db.query(`INSERT INTO benchmark_results (benchmark_id, config_index, case_id, status, metrics) VALUES ($1, 0, $2, 'ok', '{"ndcg@10": 1}'::jsonb)`, [id, added]);
  expect((await view(id)).progress.done).toBe(4);
});

test('a configuration that fails on every case fails the run, with its commonest errors and their counts', async () => {
  const models = createFakeGatewayModels(db, DIMENSIONS);
  models.rerank = () => {
    // As the gateway client restores the gateway's 404 for a model of an unknown provider.
    throw new AppError('model_not_found', 'Unknown provider "nosuchprov" (configured: fake)');
  };
  const { id } = await newRun([about(0, 'When is high tide at Port Zephyr?'), about(1, 'How do I keep slugs away?')], [config('fine'), config('broken', { rerank_model: 'nosuchprov/x' })]);

  await runToEnd(id, models);

  const v = await view(id);
  expect(v.status).toBe('failed');
  expect(v.error).toContain('configuration "broken" failed on every case (2)');
  expect(v.error).toContain('Unknown provider "nosuchprov"');
  expect(v.summary[1]!.error_messages).toEqual([{ message: 'Unknown provider "nosuchprov" (configured: fake)', count: 2 }]);
  expect(v.summary[0]!.error_messages).toEqual([]);
});

test('a run where some cases of a configuration fail still completes, and shows the errors', async () => {
  const models = createFakeGatewayModels(db, DIMENSIONS);
  models.rerank = (query, documents) => {
    if (query.includes('slugs')) throw new ProviderError({ code: 'provider_timeout', provider: 'gateway', message: 'rerank timed out', retryable: true });
    return documents.map((d) => d.length);
  };
  const { id } = await newRun([about(0, 'When is high tide at Port Zephyr?'), about(1, 'How do I keep slugs away?')], [config('flaky', { rerank_model: 'fake/rerank' })]);
  await runToEnd(id, models);
  const v = await view(id);
  expect(v.status).toBe('completed');
  expect(v.error).toBeNull();
  expect(v.summary[0]!.error_messages).toEqual([{ message: 'rerank timed out', count: 1 }]);
});

test('a case whose judgments are all grade 0 has no retrieval metrics and is counted apart, not scored 0', async () => {
  expect(scoreRetrieval([{ chunk_id: seeded.chunkIds[0]![0]!, document_id: seeded.documentIds[0]! }], [{ document_id: seeded.documentIds[0]!, grade: 0 }], 10)).toBeNull();
  const { caseIds, id } = await newRun([about(0, 'When is high tide at Port Zephyr?'), about(0, 'Where do ferries leave from?', 0)], [config('vec')]);
  await runToEnd(id);
  const rows = await loadResults(db, id);
  expect(rows.find((r) => r.case_id === caseIds[1])!.metrics).toEqual({});
  const v = await view(id);
  expect(v.summary[0]).toMatchObject({ compared_cases: 2, unjudged_cases: 1 });
  expect(v.summary[0]!.metrics['ndcg@10']!.n).toBe(1);
  // The summary counts a stored row without retrieval metrics the same way.
  const only = summarize({ configurations: [config('x')] }, 0, { rows, costs: new Map() }, new Set(rows.map((r) => r.case_id)));
  expect(only.unjudged_cases).toBe(1);
});

test('configurations with different top_k compare at the shared cut-offs, and what cannot be compared is listed with the reason', async () => {
  const { id } = await newRun([about(0, 'When is high tide at Port Zephyr?'), about(1, 'How do I keep slugs away?')], [config('k5', { top_k: 5 }), config('k20', { top_k: 20 })]);
  await runToEnd(id);
  const cmp = await compareConfigurations(db, await getBenchmark(db, TEAM, id), 0, 1);
  const compared = cmp.comparisons.map((c) => c.metric);
  for (const metric of ['ndcg@10', 'mrr', 'recall@5', 'recall@10', 'precision@5', 'precision@10', 'hit@5', 'hit@10']) expect(compared).toContain(metric);
  expect(cmp.skipped).toEqual(
    expect.arrayContaining([
      { metric: 'recall@20', reason: 'only b (k20) reports it: a cut-off at that configuration\'s own top_k' },
      { metric: 'precision@20', reason: expect.stringContaining('only b (k20)') },
      { metric: 'hit@20', reason: expect.stringContaining('only b (k20)') },
    ]),
  );
  expect(compared).not.toContain('recall@20');
});

test('promotion pairs only configurations that differ in the index version alone', () => {
  const current = 'current-version';
  const candidate = 'candidate-version';
  const at = (version: string, name: string, extra: Partial<StoredConfiguration> = {}) => config(name, { resolved_index_version_id: version, ...extra });
  // A top_k or rerank difference would be measured as the index version's: no pair.
  expect(pickPair({ configurations: [at(current, 'cur', { top_k: 5 }), at(candidate, 'cand', { top_k: 10 })] }, current, candidate)).toBeNull();
  expect(pickPair({ configurations: [at(current, 'cur', { rerank_model: 'fake/rerank' }), at(candidate, 'cand')] }, current, candidate)).toBeNull();
  expect(pickPair({ configurations: [at(current, 'cur', { mode: 'hybrid', preset: 'keyword-heavy' }), at(candidate, 'cand', { mode: 'hybrid' })] }, current, candidate)).toBeNull();
  // No generation, said as null or by leaving it out, is the same setting; a reranker turned off (null) is not the collection's.
  expect(pickPair({ configurations: [at(current, 'cur', { generation_model: null }), at(candidate, 'cand')] }, current, candidate)).toEqual([0, 1]);
  expect(pickPair({ configurations: [at(current, 'cur', { rerank_model: null }), at(candidate, 'cand')] }, current, candidate)).toBeNull();
  // The matching pair is found among others, whatever the key order or the names.
  const configurations = [at(current, 'cur-k5', { top_k: 5 }), at(candidate, 'cand-k10'), at(current, 'cur-k10', { index_version_id: current }), at(candidate, 'cand-k5', { top_k: 5 })];
  expect(pickPair({ configurations }, current, candidate)).toEqual([0, 3]);
  expect(pickPair({ configurations: configurations.slice(1, 3) }, current, candidate)).toEqual([1, 0]);
});

test('migration 0019 freezes the runs created before it: the cases their set held when they were created', async () => {
  const old = await openPGlite();
  try {
    const all = loadMigrations();
    await migrate(old, all.filter((m) => m.id < 19));
    // The document without chunks: the seed writes postings in today's shape, which a schema from before 0019 lacks (0031's analyzer column).
    const mine = await seedCollection(old, { teamId: TEAM, name: 'before-0019', embeddingModel: null, generationModel: null, withIndexVersion: false, documents: [{ ...GARDEN_NOTES, chunks: [] }] });
    const setId = await createEvalSet(old, { teamId: TEAM, collectionId: mine.collectionId, name: 'old set' });
    const relevant = [{ document_id: mine.documentIds[0]!, grade: 1 }];
    const before = await old.transaction((tx) => addCases(tx, setId, [{ question: 'first', relevant }, { question: 'second', relevant }]));
    const run = await old.query<{ id: string }>(
      `INSERT INTO benchmarks (team_id, eval_set_id, collection_id, configurations, identity, cases_total, created_at) VALUES ($1, $2, $3, '[]'::jsonb, '{}'::jsonb, 2, now() + interval '1 second') RETURNING id`,
      [TEAM, setId, mine.collectionId],
    );
    await old.query(`UPDATE eval_cases SET created_at = now() + interval '1 minute' WHERE id = $1`, [(await old.transaction((tx) => addCases(tx, setId, [{ question: 'added after the run', relevant }])))[0]]);
    expect(await migrate(old, all.filter((m) => m.id <= 19))).toEqual(['0019_benchmark_cases']);
    const frozen = await old.query<{ case_id: string; position: number }>(`SELECT case_id, position FROM benchmark_cases WHERE benchmark_id = $1 ORDER BY position`, [run.rows[0]!.id]);
    expect(frozen.rows.map((r) => [r.case_id, Number(r.position)])).toEqual([[before[0], 1], [before[1], 2]]);
  } finally {
    await old.close();
  }
});
