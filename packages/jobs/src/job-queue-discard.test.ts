import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger } from '@quire/server-kit';
import { createBullmqQueue } from './bullmq-queue.js';
import { createInProcessQueue } from './in-process-queue.js';
import type { JobDefinition, JobQueue } from './job-queue.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const Payload = z.object({ id: z.string() });
const job: JobDefinition<typeof Payload> = { name: 'discard-test', version: 1, payloadSchema: Payload, jobId: (p) => `job-${p.id}` };
const logger = createLogger({ test: 'discard' }, 'error');

/** A handler that holds the job `held` until released, and records every job it ran. */
function holdingHandler(held: string) {
  const ran: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const running = new Promise<void>((r) => (entered = r));
  return {
    ran,
    release,
    running,
    async handle(p: { id: string }) {
      ran.push(p.id);
      if (p.id === held) {
        entered();
        await released;
      }
    },
  };
}

async function discardsWaitingNotRunning(queue: JobQueue<{ id: string }>): Promise<void> {
  const h = holdingHandler('a');
  try {
    await discardsWith(queue, h);
  } finally {
    h.release(); // else stopping the queue waits for the held job forever
  }
}

async function discardsWith(queue: JobQueue<{ id: string }>, h: ReturnType<typeof holdingHandler>): Promise<void> {
  await queue.start((p) => h.handle(p));
  await queue.enqueue({ id: 'a' });
  await h.running;
  await queue.enqueue({ id: 'b' });
  await queue.enqueue({ id: 'c' });
  expect(await queue.discard('job-a')).toBe(false); // running: left to its own fence
  expect(await queue.discard('job-b')).toBe(true);
  expect(await queue.discard('job-b')).toBe(false);
  expect(await queue.discard('job-unknown')).toBe(false);
  h.release();
  for (let i = 0; i < 200 && !h.ran.includes('c'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(h.ran).toEqual(['a', 'c']);
  // A discarded id can be enqueued again (the reconciler re-enqueues by the same id).
  await queue.enqueue({ id: 'b' });
  for (let i = 0; i < 200 && !h.ran.includes('b'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(h.ran).toEqual(['a', 'c', 'b']);
}

test('in process: a waiting job is discarded, a running one is not', async () => {
  const queue = createInProcessQueue(job, { concurrency: 1, retry: { attempts: 3, baseDelayMs: 5 }, logger });
  try {
    await discardsWaitingNotRunning(queue);
  } finally {
    await queue.stop();
  }
});

test('in process: a job waiting out a retry backoff is discarded, and is not run again', async () => {
  const queue = createInProcessQueue(job, { concurrency: 1, retry: { attempts: 3, baseDelayMs: 200 }, logger });
  let runs = 0;
  try {
    await queue.start(async () => {
      runs++;
      throw new Error('provider down');
    });
    await queue.enqueue({ id: 'x' });
    for (let i = 0; i < 100 && runs === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    expect(await queue.discard('job-x')).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    expect(runs).toBe(1);
  } finally {
    await queue.stop();
  }
});

test('BullMQ: a waiting job is discarded from Redis, a running one is not', async () => {
  const queueName = `discard-test-${randomUUID()}`;
  const queue = createBullmqQueue(job, { redisUrl: REDIS_URL, queueName, concurrency: 1, retry: { attempts: 3, baseDelayMs: 5 }, logger });
  try {
    await discardsWaitingNotRunning(queue);
  } finally {
    await queue.stop();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const q = new Queue(queueName, { connection });
    await q.obliterate({ force: true });
    await q.close();
    await connection.quit();
  }
});
