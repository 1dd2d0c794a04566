import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger } from '@quire/server-kit';
import { createRedisProviderLimiter, Semaphore } from './provider-semaphore.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

test('an aborted waiter leaves the queue, rejects with the reason and takes no slot', async () => {
  const s = new Semaphore(1);
  const holder = gate();
  const held = s.run(() => holder.opened);
  const controller = new AbortController();
  let abandonedRan = false;
  const abandoned = s.run(async () => {
    abandonedRan = true;
  }, { signal: controller.signal });
  const next = s.run(async () => 'next ran');
  const reason = new Error('job stopped');
  controller.abort(reason);
  await expect(abandoned).rejects.toBe(reason);
  expect(s.inFlight).toBe(1);

  holder.open();
  await held;
  await expect(next).resolves.toBe('next ran');
  expect(abandonedRan).toBe(false);
  // Every slot came back: the limit still admits exactly one at a time.
  expect(s.inFlight).toBe(0);
  const order: string[] = [];
  const second = gate();
  const a = s.run(async () => {
    order.push('a');
    await second.opened;
  });
  const b = s.run(async () => order.push('b'));
  await Promise.resolve();
  expect(order).toEqual(['a']);
  second.open();
  await Promise.all([a, b]);
  expect(order).toEqual(['a', 'b']);
  expect(s.inFlight).toBe(0);
});

test('an already aborted signal rejects at once, even with a slot free', async () => {
  const s = new Semaphore(1);
  const reason = new Error('stopped before');
  await expect(s.run(async () => 'ran', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  expect(s.inFlight).toBe(0);
});

test('an abort after the slot is granted does not interrupt or leak it', async () => {
  const s = new Semaphore(1);
  const holder = gate();
  const held = s.run(() => holder.opened);
  const controller = new AbortController();
  const inner = gate();
  const granted = s.run(async () => {
    controller.abort(new Error('too late'));
    await inner.opened;
    return 'finished';
  }, { signal: controller.signal });
  holder.open();
  await held;
  inner.open();
  await expect(granted).resolves.toBe('finished');
  expect(s.inFlight).toBe(0);
});

/**
 * QUIRE_REDIS_PREFIX: the provider slots (`quire:sem:<queue>:<provider>`) go under the namespace. The
 * queue's own keys: packages/jobs/src/redis-prefix.test.ts and, wired through the all-in-one start,
 * test/e2e/redis-prefix.test.ts.
 */
test('with a Redis namespace, the provider slots are under it', async () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl);
  const queueName = `prefix-test-${randomUUID()}`;
  const namespace = `prefix-test-${randomUUID().slice(0, 8)}`;
  const limiter = createRedisProviderLimiter({ redisUrl, queueName, redisNamespace: namespace, limit: 1, logger: createLogger({ test: 'ingestion-prefix' }, 'error') });
  try {
    const seen = await limiter.forModel('openai/text-embedding-3-small').run(async () => ({
      namespaced: await redis.exists(`${namespace}:quire:sem:${queueName}:openai`),
      plain: await redis.exists(`quire:sem:${queueName}:openai`),
    }));
    expect(seen).toEqual({ namespaced: 1, plain: 0 });
  } finally {
    await limiter.close();
    const keys = await redis.keys(`*${queueName}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});
