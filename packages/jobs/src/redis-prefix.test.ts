import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger } from '@quire/server-kit';
import { bullmqKeyPrefix, createBullmqQueue } from './bullmq-queue.js';
import type { JobDefinition, JobQueue } from './job-queue.js';
import { fairRankMembersKey } from './redis-fair-ranks.js';
import { createRedisSemaphores, redisSemaphoresKeyPrefix, type RedisSemaphores } from './redis-semaphores.js';

/**
 * QUIRE_REDIS_PREFIX: two deployments sharing one Redis database, with the same queue names, are kept
 * apart by their namespaces alone; without one, the keys are those of earlier versions (`bull:<queue>:*`,
 * `quire:sem:<queue>:*`), so an upgrade finds the jobs it left. Against the real Redis (127.0.0.1:6379).
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const Payload = z.object({ team: z.string(), id: z.string() });
type Payload = z.infer<typeof Payload>;
const job: JobDefinition<typeof Payload> = {
  name: 'prefix-test',
  version: 1,
  payloadSchema: Payload,
  jobId: (p) => `job-${p.id}`,
  fairnessKey: (p) => p.team,
};
const logger = createLogger({ test: 'redis-prefix' }, 'error');
const retry = { attempts: 1, baseDelayMs: 5 };

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
/** What a test opened: queues to stop, semaphores to close. */
const open: (() => Promise<void>)[] = [];
/** BullMQ prefixes and queue names to obliterate, and key patterns to delete, after the tests. */
const queues: [prefix: string, name: string][] = [];
const patterns: string[] = [];

function bullmqQueue(queueName: string, redisNamespace?: string): JobQueue<Payload> {
  const queue = createBullmqQueue(job, { redisUrl: REDIS_URL, queueName, ...(redisNamespace ? { redisNamespace } : {}), concurrency: 1, retry, logger });
  open.push(() => queue.stop());
  queues.push([bullmqKeyPrefix(redisNamespace), queueName]);
  patterns.push(`${bullmqKeyPrefix(redisNamespace)}:${queueName}:*`);
  return queue;
}

function semaphores(namespace: string, redisNamespace?: string): RedisSemaphores {
  const s = createRedisSemaphores({ redisUrl: REDIS_URL, namespace, ...(redisNamespace ? { redisNamespace } : {}), limit: 1 });
  open.push(() => s.close());
  patterns.push(`${redisSemaphoresKeyPrefix(namespace, redisNamespace)}*`);
  return s;
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await done()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const keysOf = async (pattern: string) => (await redis.keys(pattern)).sort();

afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

afterAll(async () => {
  for (const [prefix, name] of queues) {
    const q = new Queue(name, { connection: redis, prefix });
    await q.obliterate({ force: true });
    await q.close();
  }
  for (const pattern of patterns) {
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

describe('BullMQ key prefix', () => {
  test('is BullMQ\'s default without a namespace, and under the namespace with one', () => {
    expect(bullmqKeyPrefix(undefined)).toBe('bull');
    expect(bullmqKeyPrefix('acme-prod')).toBe('acme-prod:bull');
  });

  test('without a namespace the keys are today\'s: `bull:<queue>:<job id>`, the fairness sets beside them', async () => {
    const queueName = `prefix-test-${randomUUID()}`;
    const queue = bullmqQueue(queueName);
    await queue.enqueue({ team: 'a', id: 'one' });
    expect(await redis.exists(`bull:${queueName}:job-one`)).toBe(1);
    expect(await redis.zrange(fairRankMembersKey(`bull:${queueName}:`, 'a'), '0', '-1')).toEqual(['job-one']);
    // Every key the queue made is BullMQ's own under `bull:<queue>:` (what an earlier version's jobs are found under).
    expect((await keysOf(`*${queueName}*`)).every((key) => key.startsWith(`bull:${queueName}:`))).toBe(true);
  });

  test('two queues of the same name under different namespaces do not see each other\'s jobs', async () => {
    const queueName = `prefix-test-${randomUUID()}`;
    const namespace = `prefix-test-${randomUUID().slice(0, 8)}`;
    const plain = bullmqQueue(queueName);
    const namespaced = bullmqQueue(queueName, namespace);

    // Waiting in the namespaced queue, before any worker runs.
    for (const id of ['n1', 'n2', 'n3']) await namespaced.enqueue({ team: 'a', id });
    expect(await redis.exists(`${namespace}:bull:${queueName}:job-n1`)).toBe(1);
    expect(await redis.exists(`bull:${queueName}:job-n1`)).toBe(0);
    expect((await redis.zrange(fairRankMembersKey(`${namespace}:bull:${queueName}:`, 'a'), '0', '-1')).sort()).toEqual(['job-n1', 'job-n2', 'job-n3']);
    // The other deployment can neither find nor discard them.
    expect(await plain.discard('job-n1')).toBe(false);

    const plainRan: string[] = [];
    await plain.start(async (p) => {
      plainRan.push(p.id);
    });
    await plain.enqueue({ team: 'a', id: 'p1' });
    await until('the plain queue runs its own job', () => plainRan.includes('p1'));
    // Time enough for a worker that could see them to take the namespaced jobs too.
    await sleep(300);
    expect(plainRan).toEqual(['p1']);

    const namespacedRan: string[] = [];
    await namespaced.start(async (p) => {
      namespacedRan.push(p.id);
    });
    await until('the namespaced queue runs its jobs', () => namespacedRan.length === 3);
    expect(namespacedRan).toEqual(['n1', 'n2', 'n3']);
    expect(plainRan).toEqual(['p1']);
    // Each queue's keys are under its own prefix only.
    const all = await keysOf(`*${queueName}*`);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((key) => key.startsWith(`bull:${queueName}:`) || key.startsWith(`${namespace}:bull:${queueName}:`))).toBe(true);
    expect(all.some((key) => key.startsWith(`${namespace}:bull:${queueName}:`))).toBe(true);
  });
});

describe('Redis semaphore keys', () => {
  /** Takes `name`'s slot and keeps it until `release()`. */
  async function holdSlot(s: RedisSemaphores, name = 'openai'): Promise<() => Promise<void>> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const run = s.forName(name).run(async () => {
      entered();
      await held;
    });
    await inside;
    return async () => {
      release();
      await run;
    };
  }

  test('are `quire:sem:<queue>:<name>` without a namespace, `<namespace>:quire:sem:<queue>:<name>` with one', () => {
    expect(redisSemaphoresKeyPrefix('quire-ingestion')).toBe('quire:sem:quire-ingestion:');
    expect(redisSemaphoresKeyPrefix('quire-ingestion', 'acme-prod')).toBe('acme-prod:quire:sem:quire-ingestion:');
  });

  test('two deployments with the same queue name, under different namespaces, each have their own slots', async () => {
    const queueName = `sem-prefix-test-${randomUUID()}`;
    const namespace = `prefix-test-${randomUUID().slice(0, 8)}`;
    const plain = semaphores(queueName);
    const namespaced = semaphores(queueName, namespace);
    const releasePlain = await holdSlot(plain);
    expect(await redis.exists(`quire:sem:${queueName}:openai`)).toBe(1);
    // One slot each: the namespaced deployment's is free although the plain one's is taken.
    const timer = new AbortController();
    const releaseNamespaced = await Promise.race([
      holdSlot(namespaced),
      sleep(2_000, undefined, { signal: timer.signal }).then(() => {
        throw new Error('the namespaced semaphore waited for the other deployment\'s slot');
      }),
    ]).finally(() => timer.abort());
    expect(await redis.exists(`${namespace}:quire:sem:${queueName}:openai`)).toBe(1);
    await Promise.all([releasePlain(), releaseNamespaced()]);
  });

  test('a namespace is checked where it enters', () => {
    expect(() => createRedisSemaphores({ redisUrl: REDIS_URL, namespace: 'q', redisNamespace: 'acme:prod', limit: 1 })).toThrow(/QUIRE_REDIS_PREFIX/);
  });
});
