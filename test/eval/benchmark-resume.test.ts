import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { countRows, seedCollection, startEvalFake, startEvalQuire, waitForResults, type TestEvalClient } from './eval-harness.js';

/**
 * `POST /v1/benchmarks/:id/resume`: a run that finished with errored cases (`completed`), or stopped at
 * its budget (`stopped_budget`), runs again only its errored and missing cases; finished cases keep
 * their results and are not paid for twice. Promotion, refused over a candidate's errored cases,
 * points at it instead of a full rerun.
 */
describe('resuming a finished benchmark run', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;

  beforeAll(async () => {
    openai = await startEvalFake(20);
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
  }, 60_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  /** A refused request's status and body (the client throws them). */
  const refused = async (path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    try {
      await client.request('POST', path, body);
    } catch (error) {
      const e = error as { status: number; body: any };
      return { status: e.status, body: e.body };
    }
    throw new Error(`POST ${path} was not refused`);
  };
  const okQueryIds = async (id: string) =>
    (await db.query<{ key: string; query_id: string }>(`SELECT config_index || ':' || case_id AS key, query_id FROM benchmark_results WHERE benchmark_id = $1 AND status = 'ok' ORDER BY 1`, [id])).rows;
  const startedQueries = (id: string) => countRows(db, `SELECT count(*)::int AS n FROM benchmark_queries WHERE benchmark_id = $1`, id);

  test('a completed run with an errored case: promotion points at resume, which retries only that case', async () => {
    const seeded = await seedCollection(client);
    const cid = seeded.collection.id as string;
    const built = await client.request('POST', `/v1/collections/${cid}/index-versions`, { embedding_model: 'openai/text-embedding-3-large' });
    for (const deadline = Date.now() + 60_000; ; ) {
      const v = (await client.request('GET', `/v1/collections/${cid}/index-versions`)).data.find((x: any) => x.id === built.id);
      if (v.status === 'ready') break;
      if (v.status === 'failed' || Date.now() > deadline) throw new Error(`build ${v.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const created = await client.request('POST', '/v1/benchmarks', {
      eval_set_id: seeded.evalSet.id,
      configurations: [{ name: 'current', mode: 'vector' }, { name: 'candidate', mode: 'vector', index_version_id: built.id }],
    });
    // A run under way resumes by itself: refused, with a code that says why.
    const running = await refused(`/v1/benchmarks/${created.id}/resume`, {});
    expect([running.status, running.body.error.code, running.body.reason]).toEqual([409, 'benchmark_not_resumable', 'in_progress']);

    // One non-retryable provider error in the candidate configuration (the first configuration has finished by then).
    await waitForResults(db, created.id, created.progress.cases_per_configuration + 2);
    openai.script.failNext(1, { status: 400 });
    const b = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
    expect(b.status).toBe('completed');
    expect(b.summary.map((s: any) => s.errors)).toEqual([0, 1]);

    const promote = await refused(`/v1/collections/${cid}/index-versions/${built.id}/promote`, {});
    expect(promote.status).toBe(409);
    expect(promote.body.error.message).toContain(`POST /v1/benchmarks/${created.id}/resume`);

    const okBefore = await okQueryIds(created.id);
    const startedBefore = await startedQueries(created.id);
    expect(okBefore).toHaveLength(created.progress.total - 1);

    // Validated like any other body.
    expect((await refused(`/v1/benchmarks/${created.id}/resume`, { budget_usd: -1 })).status).toBe(400);
    expect((await refused(`/v1/benchmarks/${created.id}/resume`, { all: true })).status).toBe(400);

    const resumed = await client.request('POST', `/v1/benchmarks/${created.id}/resume`);
    expect(resumed.status).toBe('queued');
    expect(resumed.resumed).toEqual({ errored_cases: 1, missing_cases: 0 });
    const after = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
    expect(after.status).toBe('completed');
    expect(after.error).toBeNull();
    expect(after.summary.map((s: any) => s.errors)).toEqual([0, 0]);
    expect(after.progress.done).toBe(created.progress.total);
    // The finished cases kept their results (same queries); only the errored one ran again, once.
    const okAfter = await okQueryIds(created.id);
    expect(okAfter).toHaveLength(created.progress.total);
    expect(okAfter).toEqual(expect.arrayContaining(okBefore));
    expect(await startedQueries(created.id)).toBe(startedBefore + 1);

    // Nothing is left to run.
    const again = await refused(`/v1/benchmarks/${created.id}/resume`, {});
    expect([again.status, again.body.error.code, again.body.reason, again.body.errored_cases, again.body.missing_cases]).toEqual([409, 'benchmark_not_resumable', 'nothing_to_resume', 0, 0]);

    // Promotion now judges the same run on every case (the fake embeds both versions alike: no loss).
    const promoted = await client.request('POST', `/v1/collections/${cid}/index-versions/${built.id}/promote`, {});
    expect(promoted.evidence).toMatchObject({ benchmark_id: created.id, candidate_errors: 0, allowed: true, reason: null });
  }, 150_000);

  test('a run that failed (a configuration errored on every case) resumes once the cause is gone', async () => {
    const seeded = await seedCollection(client, { docs: 20, queries: 5 });
    // Every model call fails (a provider outage); keyword answers call no embedding model, only the generator.
    openai.script.failNext(1000, { status: 400 });
    let created;
    try {
      created = await client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, configurations: [{ name: 'answers', mode: 'keyword', top_k: 5, answer: true }] });
      const failed = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(failed.status).toBe('failed');
      expect(failed.summary[0].errors).toBe(created.progress.total);
    } finally {
      openai.script.reset();
    }
    const resumed = await client.request('POST', `/v1/benchmarks/${created.id}/resume`);
    expect(resumed.resumed).toEqual({ errored_cases: created.progress.total, missing_cases: 0 });
    expect(resumed.error).toBeNull();
    const b = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
    expect([b.status, b.error, b.summary[0].errors]).toEqual(['completed', null, 0]);
  }, 150_000);

  test('a run stopped at its budget resumes under a raised cap, without running its finished cases again', async () => {
    const seeded = await seedCollection(client, { docs: 20, queries: 10 });
    // One query embedding costs about 2e-7 USD here (about 10 tokens at $0.02 per million).
    const created = await client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, budget_usd: 1e-6, configurations: [{ name: 'vector', mode: 'vector' }, { name: 'hybrid', mode: 'hybrid' }] });
    const stopped = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
    expect(stopped.status).toBe('stopped_budget');
    expect(stopped.progress.done).toBeLessThan(created.progress.total);
    const okBefore = await okQueryIds(created.id);
    const startedBefore = await startedQueries(created.id);

    // Under the same cap it would stop again before its next case: refused, saying how to go on.
    const same = await refused(`/v1/benchmarks/${created.id}/resume`, {});
    expect([same.status, same.body.error.code, same.body.reason]).toEqual([409, 'benchmark_not_resumable', 'over_budget']);
    expect(same.body.error.message).toMatch(/budget_usd/);
    expect(same.body.missing_cases).toBe(created.progress.total - stopped.progress.done);
    // A cap the run has already spent is refused as a bad value.
    const low = await refused(`/v1/benchmarks/${created.id}/resume`, { budget_usd: 1e-9 });
    expect([low.status, low.body.error.code, low.body.error.param]).toEqual([400, 'invalid_request', 'budget_usd']);

    const resumed = await client.request('POST', `/v1/benchmarks/${created.id}/resume`, { budget_usd: 1 });
    expect(resumed.budget_usd).toBe(1);
    expect(resumed.error).toBeNull();
    expect(resumed.resumed).toEqual({ errored_cases: 0, missing_cases: created.progress.total - stopped.progress.done });
    const b = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
    expect(b.status).toBe('completed');
    expect(b.progress.done).toBe(created.progress.total);
    expect(await countRows(db, `SELECT count(DISTINCT (config_index, case_id))::int AS n FROM benchmark_results WHERE benchmark_id = $1`, created.id)).toBe(created.progress.total);
    const okAfter = await okQueryIds(created.id);
    expect(okAfter).toEqual(expect.arrayContaining(okBefore));
    // Every missing case ran once; none of the finished ones ran again.
    expect(await startedQueries(created.id)).toBe(startedBefore + (created.progress.total - stopped.progress.done));
  }, 150_000);
});
