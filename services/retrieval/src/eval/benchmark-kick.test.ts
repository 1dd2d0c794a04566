import { openTestDatabase, type Db } from '@quire/db';
import { AppError, type Logger } from '@quire/server-kit';
import { createBm25KeywordRetriever } from '../search/bm25-retriever.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS } from '../testing/seed.js';
import { BenchmarkRunner } from './benchmark-runner.js';

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db?.close());

/** A queue that refuses the first `refusals` enqueues as BullMQ's does while Redis is down. */
function flakyQueue(refusals: number) {
  const taken: string[] = [];
  let asked = 0;
  return {
    taken,
    asked: () => asked,
    queue: {
      enqueue: async (p: { benchmarkId: string }) => {
        asked++;
        if (asked <= refusals) throw new AppError('service_unavailable', 'Redis is not connected (reconnecting).');
        taken.push(p.benchmarkId);
        return { jobId: `benchmark-${p.benchmarkId}` };
      },
      stop: async () => undefined,
    },
  };
}

/** The refusals are logged at error level by design; here they would only be noise in the test output. */
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

const runnerWith = (queue: unknown) =>
  new BenchmarkRunner(
    { db, models: createFakeGatewayModels(db, DIMENSIONS), keyword: createBm25KeywordRetriever(db), internalSecret: 'test-secret-test-secret-test-secret-0123', logger: quiet, kickRetryBaseMs: 10 },
    queue as never,
  );

const until = async (check: () => boolean, ms = 5_000) => {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
};

test('a run the queue refused (Redis down) is queued once the queue takes it again', async () => {
  const flaky = flakyQueue(3);
  const runner = runnerWith(flaky.queue);
  const id = '7d4a1f43-3c9b-4a55-9a3e-0d7b3c1f2a10';
  runner.kick(id);
  await until(() => flaky.taken.length > 0);
  expect(flaky.taken).toEqual([id]);
  expect(flaky.asked()).toBe(4);
  await runner.stop();
});

test('a stopped runner stops asking', async () => {
  const flaky = flakyQueue(1_000);
  const runner = runnerWith(flaky.queue);
  runner.kick('0b8e4f5a-6c1d-4e2f-8a3b-9c0d1e2f3a4b');
  await until(() => flaky.asked() >= 2);
  await runner.stop();
  const asked = flaky.asked();
  await new Promise((r) => setTimeout(r, 200));
  expect(flaky.asked()).toBe(asked);
});
