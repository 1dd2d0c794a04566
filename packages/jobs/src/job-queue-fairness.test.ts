import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger } from '@quire/server-kit';
import { createBullmqQueue } from './bullmq-queue.js';
import { createInProcessQueue } from './in-process-queue.js';
import type { JobDefinition, JobQueue } from './job-queue.js';
import { fairRankMembersKey } from './redis-fair-ranks.js';

/**
 * Admission takes turns between fairness keys: one key's backlog does not make another key's first
 * job wait behind all of it, in either runner. BullMQ runs against the real Redis, one queue a test.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const Payload = z.object({ team: z.string(), id: z.string() });
type Payload = z.infer<typeof Payload>;
const job: JobDefinition<typeof Payload> = {
  name: 'fairness-test',
  version: 1,
  payloadSchema: Payload,
  jobId: (p) => `job-${p.id}`,
  fairnessKey: (p) => p.team,
};
const logger = createLogger({ test: 'job-fairness' }, 'error');
const retry = { attempts: 3, baseDelayMs: 5 };

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
/** A team's fairness set, under the queue's key prefix (BullMQ's default prefix, `bull`). */
const membersKey = (queueName: string, team: string) => fairRankMembersKey(`bull:${queueName}:`, team);
const queueNames: string[] = [];
const open: JobQueue<Payload>[] = [];

function bullmqQueue(options: { retry?: typeof retry } = {}) {
  const queueName = `fairness-test-${randomUUID()}`;
  queueNames.push(queueName);
  const queue = createBullmqQueue(job, { redisUrl: REDIS_URL, queueName, concurrency: 1, retry: options.retry ?? retry, logger });
  open.push(queue);
  return { queue, queueName, members: (team: string) => redis.zrange(membersKey(queueName, team), '0', '-1') };
}

function inProcessQueue() {
  const queue = createInProcessQueue(job, { concurrency: 1, retry, logger });
  open.push(queue);
  return queue;
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await done()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.stop()));
});

afterAll(async () => {
  for (const name of queueNames) {
    const q = new Queue(name, { connection: redis });
    await q.obliterate({ force: true });
    await q.close();
    const keys = await redis.keys(membersKey(name, '*'));
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

/**
 * With one slot, held by team A's first job: nine more of A's queue, then two of B's. The order they
 * run in once the slot frees. First come first served would run B's last.
 */
async function backlogOrder(queue: JobQueue<Payload>): Promise<string[]> {
  const ran: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await queue.start(async (p) => {
    ran.push(p.id);
    if (p.id === 'a1') await released;
  });
  await queue.enqueue({ team: 'a', id: 'a1' });
  await until('a1 runs', () => ran.length === 1);
  for (let n = 2; n <= 10; n++) await queue.enqueue({ team: 'a', id: `a${n}` });
  await queue.enqueue({ team: 'b', id: 'b1' });
  await queue.enqueue({ team: 'b', id: 'b2' });
  release();
  await until('every job ran', () => ran.length === 12);
  return ran;
}

const TURNS = ['a1', 'b1', 'a2', 'b2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10'];

test('in process: another team\'s jobs take turns with a team\'s backlog', async () => {
  expect(await backlogOrder(inProcessQueue())).toEqual(TURNS);
});

test('BullMQ: another team\'s jobs take turns with a team\'s backlog, and no rank outlives its job', async () => {
  const { queue, members } = bullmqQueue();
  expect(await backlogOrder(queue)).toEqual(TURNS);
  // Each job left its team's count when it finished.
  await until('the ranks are released', async () => (await members('a')).length + (await members('b')).length === 0);
});

test('BullMQ: a discarded job and a job failed for good leave their team\'s count; a retried one keeps its place', async () => {
  const { queue, queueName, members } = bullmqQueue({ retry: { attempts: 2, baseDelayMs: 60_000 } });
  const attempts = new Map<string, number>();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await queue.start(async (p) => {
    attempts.set(p.id, (attempts.get(p.id) ?? 0) + 1);
    if (p.id === 'held') await released;
    if (p.id === 'flaky') throw new Error('provider down');
    if (p.id === 'poison') throw new UnrecoverableError('unreadable');
  });
  try {
    await queue.enqueue({ team: 'a', id: 'held' });
    await until('held runs', () => attempts.has('held'));
    await queue.enqueue({ team: 'a', id: 'waiting' });
    // A duplicate enqueue counts once.
    await queue.enqueue({ team: 'a', id: 'waiting' });
    expect((await members('a')).sort()).toEqual(['job-held', 'job-waiting']);
    expect(await queue.discard('job-waiting')).toBe(true);
    expect(await members('a')).toEqual(['job-held']);
  } finally {
    release();
  }
  await until('held is released', async () => (await members('a')).length === 0);

  await queue.enqueue({ team: 'a', id: 'poison' });
  await until('poison is released', async () => attempts.has('poison') && (await members('a')).length === 0);

  // Fails its first attempt, then waits out a long backoff: still in the queue, so still counted.
  await queue.enqueue({ team: 'a', id: 'flaky' });
  const raw = new Queue(queueName, { connection: redis });
  try {
    await until('flaky waits for its retry', async () => (await raw.getJobState('job-flaky')) === 'delayed');
  } finally {
    await raw.close();
  }
  expect(await members('a')).toEqual(['job-flaky']);
  expect(await queue.discard('job-flaky')).toBe(true);
  expect(await members('a')).toEqual([]);
});

test('BullMQ: a rank left behind by a lost release is dropped by the next enqueue of its team', async () => {
  const { queue, queueName, members } = bullmqQueue();
  // Admitted long ago, its job no longer in the queue: as when a worker died between the two.
  await redis.zadd(membersKey(queueName, 'a'), 0, 'job-ghost');
  const raw = new Queue(queueName, { connection: redis });
  try {
    await queue.enqueue({ team: 'a', id: 'next' });
    expect(await members('a')).toEqual(['job-next']);
    // Ranked as the team's first job in the queue, not its second.
    expect((await raw.getJob('job-next'))?.opts.priority).toBe(1);
  } finally {
    await raw.close();
  }
});
