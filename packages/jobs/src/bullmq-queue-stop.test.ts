import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger } from '@quire/server-kit';
import { createBullmqQueue } from './bullmq-queue.js';
import type { JobDefinition, JobQueue } from './job-queue.js';

/**
 * How long stop() takes on the real Redis. An idle worker sits in a blocking BZPOPMIN for up to
 * BullMQ's drainDelay (5 s); a stop that waited for it would add that to every shutdown.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const Payload = z.object({ id: z.string() });
const job: JobDefinition<typeof Payload> = { name: 'stop-test', version: 1, payloadSchema: Payload, jobId: (p) => `job-${p.id}` };
const logger = createLogger({ test: 'bullmq-stop' }, 'error');
const queueNames: string[] = [];
const open: JobQueue<{ id: string }>[] = [];

function bullmqQueue(queueName = `stop-test-${randomUUID()}`): JobQueue<{ id: string }> {
  if (!queueNames.includes(queueName)) queueNames.push(queueName);
  const queue = createBullmqQueue(job, { redisUrl: REDIS_URL, queueName, concurrency: 2, retry: { attempts: 3, baseDelayMs: 5 }, logger });
  open.push(queue);
  return queue;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.stop()));
});
afterAll(async () => {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  for (const name of queueNames) {
    const q = new Queue(name, { connection });
    await q.obliterate({ force: true });
    await q.close();
  }
  await connection.quit();
});

test('an idle worker stops at once, not after its blocking wait for jobs', async () => {
  const queue = bullmqQueue();
  const ran: string[] = [];
  await queue.start(async (p) => void ran.push(p.id));
  // One job through, so the worker is past its start and back in its blocking wait for the next.
  await queue.enqueue({ id: 'warm-up' });
  for (let i = 0; i < 250 && ran.length === 0; i++) await sleep(20);
  expect(ran).toEqual(['warm-up']);
  await sleep(500);
  const t0 = Date.now();
  await queue.stop();
  expect(Date.now() - t0).toBeLessThan(1_500);
});

test('a job running when stop() begins is finished by this worker, once, and nobody runs it again', async () => {
  const queueName = `stop-test-${randomUUID()}`;
  const queue = bullmqQueue(queueName);
  const ran: string[] = [];
  let entered!: () => void;
  const running = new Promise<void>((resolve) => (entered = resolve));
  let finished = false;
  await queue.start(async (p) => {
    ran.push(p.id);
    entered();
    await sleep(600);
    finished = true;
  });
  await queue.enqueue({ id: 'in-progress' });
  await running;
  const t0 = Date.now();
  await queue.stop();
  // stop() waited for the job (it does not cut it off before stopTimeoutMs, 5 s)...
  expect(finished).toBe(true);
  expect(Date.now() - t0).toBeLessThan(3_000);
  // ...which was recorded as done: nothing is left for the stalled-job check to hand out again.
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const inspect = new Queue(queueName, { connection });
  try {
    expect(await inspect.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed')).toEqual({ wait: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    expect(await inspect.getJob('job-in-progress')).toBeUndefined();
  } finally {
    await inspect.close();
    await connection.quit();
  }
  // A worker started afterwards on the same queue finds nothing to run.
  const after = bullmqQueue(queueName);
  const ranAfter: string[] = [];
  await after.start(async (p) => void ranAfter.push(p.id));
  await sleep(500);
  expect(ranAfter).toEqual([]);
  expect(ran).toEqual(['in-progress']);
});
