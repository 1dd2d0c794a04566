import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import { countRows, seedCollection, startEvalFake, startEvalQuire, THREE_CONFIGS, waitForResults } from './eval-harness.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('benchmark runs as BullMQ jobs (real Redis)', () => {
  let db: Db;
  let openai: FakeOpenAI;
  const queueName = `eval-bullmq-${randomUUID()}`;

  beforeAll(async () => {
    // Slow model calls, so a run is still going when its worker stops.
    openai = await startEvalFake(100);
    db = await openTestDatabase();
  });
  afterAll(async () => {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    for (const name of [queueName, `${queueName}-benchmarks`]) {
      const queue = new Queue(name, { connection });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await connection.quit();
    await openai?.close();
    await db?.close();
  });

  test('a worker that stops mid-run hands the job to another worker, which completes it without duplicating cases', async () => {
    const first = await startEvalQuire(db, openai, { redisUrl: REDIS_URL, queueName });
    let second: Awaited<ReturnType<typeof startEvalQuire>> | undefined;
    let stopped = false;
    try {
      // 30 questions x 3 configurations, 60 of them with a 100 ms model call: the run outlasts a second Quire's start.
      const seeded = await seedCollection(first.client, { queries: 30 });
      const created = await first.client.request('POST', '/v1/benchmarks', { eval_set_id: seeded.evalSet.id, configurations: THREE_CONFIGS });
      const total = created.progress.total;
      const doneSql = `SELECT count(*)::int AS n FROM benchmark_results WHERE benchmark_id = $1`;
      await waitForResults(db, created.id, 3);
      const jobs = new Queue(`${queueName}-benchmarks`, { connection: { url: REDIS_URL } });
      try {
        expect(await jobs.getJobState(`benchmark-${created.id}`)).toBe('active');
      } finally {
        await jobs.close();
      }

      // A second worker joins; its start-up resume finds the run's job already active and adds nothing.
      second = await startEvalQuire(db, openai, { redisUrl: REDIS_URL, queueName });
      await first.quire.stop();
      stopped = true;
      const doneAtStop = await countRows(db, doneSql, created.id);
      expect(doneAtStop).toBeLessThan(total);

      // No restart: the live second worker takes the job up when BullMQ retries it.
      const b = await second.client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(b.status).toBe('completed');
      expect(b.progress.done).toBe(total);
      expect(await countRows(db, `SELECT count(DISTINCT (config_index, case_id))::int AS n FROM benchmark_results WHERE benchmark_id = $1`, created.id)).toBe(total);
      expect(await countRows(db, doneSql, created.id)).toBe(total);
      // Each finished case ran once; only the case in flight at the stop ran again (its retries included).
      const started = await countRows(db, `SELECT count(*)::int AS n FROM benchmark_queries WHERE benchmark_id = $1`, created.id);
      expect(started).toBeGreaterThanOrEqual(total);
      expect(started).toBeLessThanOrEqual(total + 3);
      expect(b.summary.every((s: { errors: number }) => s.errors === 0)).toBe(true);
    } finally {
      if (!stopped) await first.quire.stop();
      await second?.quire.stop();
    }
  }, 120_000);
});
