/**
 * Benchmark runs and eval sets under real concurrency (PGlite runs one statement at a time).
 * Races are driven as in ingestion's *-races tests: a gate connection holds a table lock, waits in
 * pg_stat_activity until the racers block behind it, then lets them go together.
 */
import { createLogger } from '@quire/server-kit';
import { openPostgres, openTestDatabase, waitForLockWaiters, type Db, type PostgresTestDatabase } from '@quire/db';
import { GARDEN_NOTES, HARBOUR_GUIDE, DIMENSIONS, seedCollection, type SeededCollection } from '../testing/seed.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { createBm25KeywordRetriever } from '../search/bm25-retriever.js';
import { insertBenchmark } from './benchmark-repo.js';
import { BenchmarkRunner } from './benchmark-runner.js';
import { addCases, createEvalSet, listCases } from './eval-repo.js';
import type { StoredConfiguration } from './eval-schemas.js';

const TEAM = 'team-bench-races';
const SECRET = 'test-secret-test-secret-test-secret-0123';
let db: PostgresTestDatabase;
let other: Db;
/** The gate's own pool, so that holding its lock takes no connection from the racers'. */
let gate: Db;
let seeded: SeededCollection;

beforeAll(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  other = openPostgres(db.connectionString);
  gate = openPostgres(db.connectionString, { max: 1 });
  seeded = await seedCollection(db, { teamId: TEAM, name: 'races', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
});
afterAll(async () => {
  await gate?.close();
  await other?.close();
  await db?.close();
});

/** A runner whose queue only records what it was asked to queue (each "worker" is handed the job directly, as two processes' queues would). */
function runnerOn(runDb: Db, runLeaseMs = 60_000): { runner: BenchmarkRunner; handle: (id: string) => Promise<void>; queued: string[] } {
  const deps = { db: runDb, models: createFakeGatewayModels(runDb, DIMENSIONS), keyword: createBm25KeywordRetriever(runDb), internalSecret: SECRET, logger: createLogger({}, 'error'), runLeaseMs };
  const queued: string[] = [];
  const queue = { enqueue: async (p: { benchmarkId: string }) => (queued.push(p.benchmarkId), { jobId: `benchmark-${p.benchmarkId}` }) };
  const runner = new BenchmarkRunner(deps, queue as never);
  return { runner, handle: (id) => (runner as unknown as { handle(id: string): Promise<void> }).handle(id), queued };
}

test('two workers that take up the same run (two processes resuming it) run and pay for every case once, not twice', async () => {
  const setId = await createEvalSet(db, { teamId: TEAM, collectionId: seeded.collectionId, name: 'double-run' });
  const questions = ['When is high tide at Port Zephyr?', 'Where do ferries leave from?', 'How do I keep slugs away?'];
  await addCases(db, setId, questions.map((q, i) => ({ question: q, relevant: [{ document_id: seeded.documentIds[i < 2 ? 0 : 1]!, grade: 1 }] })));
  const configurations: StoredConfiguration[] = [{ name: 'vec', mode: 'vector', top_k: 10, answer: false, resolved_index_version_id: seeded.indexVersionId }];
  const benchmarkId = await insertBenchmark(db, {
    teamId: TEAM, evalSetId: setId, collectionId: seeded.collectionId, configurations, judgeModel: null, budgetUsd: null,
    identity: { team_id: TEAM, key_id: 'key-bench', role: 'member', groups: [] },
  });
  const a = runnerOn(db);
  const b = runnerOn(other, 300);
  // Hold inserts into benchmark_queries (reads go on): the worker that took the run blocks at its first
  // case's recordQueryStart while the other tries to take the run too (both used to get this far, and
  // run every case). Then both go on.
  const racing: Promise<void>[] = [];
  await gate.transaction(async (tx) => {
    await tx.query('LOCK TABLE benchmark_queries IN SHARE MODE');
    racing.push(a.handle(benchmarkId), b.handle(benchmarkId));
    await waitForLockWaiters(tx, 1);
    await new Promise((r) => setTimeout(r, 200));
  });
  await Promise.all(racing);

  const status = await db.query<{ status: string }>(`SELECT status FROM benchmarks WHERE id = $1`, [benchmarkId]);
  expect(status.rows[0]!.status).toBe('completed');
  const results = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM benchmark_results WHERE benchmark_id = $1`, [benchmarkId]);
  expect(results.rows[0]!.n).toBe(questions.length);
  // Each case should have been executed (and billed: one query embedding each) once.
  const started = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM benchmark_queries WHERE benchmark_id = $1`, [benchmarkId]);
  const billed = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM usage_ledger l JOIN benchmark_queries q ON q.query_id = l.query_id WHERE q.benchmark_id = $1`,
    [benchmarkId],
  );
  expect({ started: started.rows[0]!.n, billed: billed.rows[0]!.n }).toEqual({ started: questions.length, billed: questions.length });
  // The worker that found the run held let it be, and queues it again once the lease could have lapsed.
  for (let i = 0; i < 100 && b.queued.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(b.queued).toEqual([benchmarkId]);
  expect(a.queued).toEqual([]);
});

test('cases added to one eval set at the same time get distinct ordinals', async () => {
  const setId = await createEvalSet(db, { teamId: TEAM, collectionId: seeded.collectionId, name: 'concurrent-adds' });
  await addCases(db, setId, [{ question: 'seed case', relevant: [{ document_id: seeded.documentIds[0]!, grade: 1 }] }]);
  const relevant = [{ document_id: seeded.documentIds[0]!, grade: 1 }];
  // Both requests append as the routes do (a transaction each); the gate holds their INSERTs.
  const racing: Promise<string[]>[] = [];
  await gate.transaction(async (tx) => {
    await tx.query('LOCK TABLE eval_cases IN SHARE MODE');
    racing.push(
      db.transaction((t) => addCases(t, setId, [{ question: 'from request one, first', relevant }, { question: 'from request one, second', relevant }])),
      other.transaction((t) => addCases(t, setId, [{ question: 'from request two, first', relevant }, { question: 'from request two, second', relevant }])),
    );
    await waitForLockWaiters(tx, 2);
  });
  await Promise.all(racing);
  const cases = await listCases(db, setId);
  expect(cases).toHaveLength(5);
  const ordinals = cases.map((c) => Number(c.ordinal));
  expect(new Set(ordinals).size).toBe(ordinals.length);
});
