import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openTestDatabase } from '@quire/db';
import { startFakeOpenAI } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { startQuire } from '../../scripts/start-quire.js';
import { AUTH, citingReply, E2E_ADMIN_KEY, waitForDocument } from './quire-harness.js';

/**
 * QUIRE_REDIS_PREFIX through the all-in-one start: ingestion's queue and retrieval's benchmark queue
 * (both BullMQ) live under `<prefix>:bull:`, not `bull:`, and a document still goes through, so its
 * worker listens under the same prefix. Against the real Redis (127.0.0.1:6379).
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await done()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the job queues of a deployment with QUIRE_REDIS_PREFIX are under its prefix', async () => {
  const namespace = `e2e-prefix-${randomUUID().slice(0, 8)}`;
  const queueName = `e2e-${randomUUID()}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply: citingReply, dimensions: 64 });
  const db = await openTestDatabase();
  const quire = await startQuire({
    db,
    port: 0,
    queueName,
    logger: createLogger({ test: 'e2e-redis-prefix' }, 'error'),
    env: {
      OPENAI_API_KEY: 'sk-e2e',
      OPENAI_BASE_URL: openai.url,
      QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai',
      QUIRE_ADMIN_KEY: E2E_ADMIN_KEY,
      REDIS_URL,
      QUIRE_REDIS_PREFIX: namespace,
    },
  });
  try {
    const queues = [queueName, `${queueName}-benchmarks`];
    // Each queue writes its meta hash when it connects.
    await until('both queues are set up', async () => (await Promise.all(queues.map((q) => redis.exists(`${namespace}:bull:${q}:meta`)))).every((n) => n === 1));

    const created = await fetch(`${quire.url}/v1/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ name: `Prefixed ${Date.now()}`, embedding_model: 'openai/text-embedding-3-small' }),
    });
    expect(created.status).toBe(201);
    const collection = (await created.json()) as { id: string };
    const form = new FormData();
    form.append('file', new Blob(['# Warranty\n\nThe warranty period for company laptops is 36 months.\n'], { type: 'text/markdown' }), 'warranty.md');
    const uploaded = await fetch(`${quire.url}/v1/collections/${collection.id}/documents`, { method: 'POST', headers: AUTH, body: form });
    expect(uploaded.status).toBe(202);
    const [queued] = ((await uploaded.json()) as { documents: { id: string }[] }).documents;
    expect((await waitForDocument(quire.url, queued!.id)).status).toBe('ready');

    // Nothing of this deployment's queues under BullMQ's default prefix, where an unprefixed deployment's are.
    expect(await redis.keys(`bull:${queueName}*`)).toEqual([]);
    expect((await redis.keys(`${namespace}:bull:${queueName}:*`)).length).toBeGreaterThan(0);
  } finally {
    await quire.stop();
    await openai.close();
    await db.close();
    for (const name of [queueName, `${queueName}-benchmarks`]) {
      const q = new Queue(name, { connection: redis, prefix: `${namespace}:bull` });
      await q.obliterate({ force: true });
      await q.close();
    }
    const keys = await redis.keys(`${namespace}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});
