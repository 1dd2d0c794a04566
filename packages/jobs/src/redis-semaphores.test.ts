import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedisSemaphores, type RedisSemaphores } from './redis-semaphores.js';
import type { RedisSemaphoresSettings } from './redis-semaphores-settings.js';

/** Against the real Redis (127.0.0.1:6379); each instance has its own connections, as a process would. */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let admin: Redis;
let namespace: string;
let open: RedisSemaphores[];

beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
beforeEach(() => {
  namespace = `sem-test-${randomUUID()}`;
  open = [];
});
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  const keys = await admin.keys(`quire:sem:${namespace}:*`);
  if (keys.length > 0) await admin.del(...keys);
});
afterAll(async () => {
  await admin.quit();
});

function instance(settings: Partial<RedisSemaphoresSettings> = {}): RedisSemaphores {
  const s = createRedisSemaphores({ redisUrl: REDIS_URL, namespace, limit: 2, ...settings });
  open.push(s);
  return s;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Takes a slot of `name` and keeps it until `release()`, which resolves once the slot is given back. */
async function holdSlot(s: RedisSemaphores, name = 'openai'): Promise<{ release: () => Promise<void> }> {
  const held = deferred();
  const entered = deferred();
  const run = s.forName(name).run(async () => {
    entered.resolve();
    await held.promise;
  });
  await entered.promise;
  return {
    release: async () => {
      held.resolve();
      await run;
    },
  };
}

test('three processes with limit 2 never run more than 2 at once, but do run 2', async () => {
  const instances = [instance(), instance(), instance()];
  let current = 0;
  let max = 0;
  let ran = 0;
  const task = async () => {
    current++;
    max = Math.max(max, current);
    await sleep(5 + Math.random() * 20);
    current--;
    ran++;
  };
  await Promise.all(instances.flatMap((s) => Array.from({ length: 20 }, () => s.forName('openai').run(task))));
  expect(ran).toBe(60);
  expect(max).toBe(2);
  expect(instances.map((s) => s.forName('openai').inFlight)).toEqual([0, 0, 0]);
  // The last release empties the set, and Redis drops an empty key.
  expect(await admin.exists(`quire:sem:${namespace}:openai`)).toBe(0);
});

test('each name has its own slots', async () => {
  const s = instance({ limit: 1 });
  const first = await holdSlot(s);
  await expect(s.forName('cohere').run(async () => 'ran')).resolves.toBe('ran');
  await first.release();
});

test("a killed holder's slot frees once its lease runs out", async () => {
  const killed = instance({ limit: 1, leaseMs: 1000 });
  const entered = deferred();
  void killed.forName('openai').run(async () => {
    entered.resolve();
    await new Promise(() => undefined); // never settles: the process "dies" holding the slot
  });
  await entered.promise;
  await killed.close(); // connections gone, no release, no more renewals
  // When the lease runs out, on Redis's clock (this host's too): measured, not assumed, since a slow
  // machine may have renewed late or not at all before the close.
  const [, score] = await admin.zrange(`quire:sem:${namespace}:openai`, '0', '-1', 'WITHSCORES');
  const expiresAt = Number(score);
  let grantedAt = 0;
  await instance({ limit: 1, leaseMs: 1000 }).forName('openai').run(async () => {
    grantedAt = Date.now();
  });
  expect(grantedAt).toBeGreaterThanOrEqual(expiresAt - 5); // never before the lease ran out
  expect(grantedAt).toBeLessThan(expiresAt + 5000); // and not left held for good
});

test('a running holder keeps renewing its slot past the lease', async () => {
  // Renewed every 2000 / 3 ms: a stall of over a second on a loaded machine still keeps the lease.
  const a = instance({ limit: 1, leaseMs: 2000 });
  const b = instance({ limit: 1, leaseMs: 2000 });
  let aEnded = 0;
  const entered = deferred();
  const first = a.forName('openai').run(async () => {
    entered.resolve();
    await sleep(4500); // more than two leases
    aEnded = Date.now();
  });
  await entered.promise;
  let bStarted = 0;
  await b.forName('openai').run(async () => {
    bStarted = Date.now();
  });
  await first;
  expect(bStarted).toBeGreaterThanOrEqual(aEnded);
});

test('closing ends waits with a retryable error and the waiter takes no slot', async () => {
  const holder = instance({ limit: 1 });
  const waiter = instance({ limit: 1 });
  const first = await holdSlot(holder);
  const waiting = waiter.forName('openai').run(async () => 'should not run');
  await sleep(100);
  await waiter.close();
  await expect(waiting).rejects.toMatchObject({ code: 'service_unavailable' });
  await first.release();
  expect(await admin.exists(`quire:sem:${namespace}:openai`)).toBe(0);
});

test("a caller's signal abandons its wait only", async () => {
  const s = instance({ limit: 1 });
  const first = await holdSlot(s);
  const controller = new AbortController();
  const abandoned = s.forName('openai').run(async () => 'should not run', { signal: controller.signal });
  const next = s.forName('openai').run(async () => 'ran');
  controller.abort(new Error('caller gave up'));
  await expect(abandoned).rejects.toThrow('caller gave up');
  await first.release();
  await expect(next).resolves.toBe('ran');
});

test('when Redis does not answer, the attempt fails with a retryable error', async () => {
  const s = createRedisSemaphores({ redisUrl: 'redis://127.0.0.1:1', namespace, limit: 2 });
  open.push(s);
  await expect(s.forName('openai').run(async () => 'should not run')).rejects.toMatchObject({ code: 'service_unavailable' });
});

test('settings are validated where they enter', () => {
  expect(() => createRedisSemaphores({ redisUrl: REDIS_URL, namespace, limit: 0 })).toThrow();
  expect(() => createRedisSemaphores({ redisUrl: REDIS_URL, namespace, limit: 2, pollMinMs: 100, pollMaxMs: 10 })).toThrow(/pollMaxMs/);
});
