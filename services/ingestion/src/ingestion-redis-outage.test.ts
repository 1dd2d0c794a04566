import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openTestDatabase, type Db } from '@quire/db';
import { startCuttableProxy, testRedisTarget, type CuttableProxy } from '@quire/fakes';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { client, TEST_SECRET } from './testing/http.js';

/**
 * Redis stops under a running ingestion service (reached through a TCP proxy the test cuts): readiness
 * says so at once, an upload is still accepted (the reconciler enqueues it later), and the service stops.
 */
const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queueName = `ingestion-outage-${randomUUID()}`;

let db: Db;
let service: IngestionService;
let server: RunningServer;
let proxy: CuttableProxy;
/** The proxy's port once cut: nothing listens there any more. */
let closedPort = 0;

async function cutRedis(): Promise<void> {
  closedPort = proxy.port;
  await proxy.cut();
}

beforeAll(async () => {
  proxy = await startCuttableProxy(testRedisTarget());
  db = await openTestDatabase();
  service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger: createLogger({ test: 'ingestion-outage' }, 'error'),
    internalSecret: TEST_SECRET,
    redisUrl: `redis://127.0.0.1:${proxy.port}`,
    queueName,
    limits: { reconcileIntervalMs: 3_600_000 },
  });
  await service.start();
  server = await listen(service.app, 0);
});

afterAll(async () => {
  await proxy?.cut();
  await server?.close();
  await service?.stop();
  const connection = new Redis(REDIS.toString(), { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  await db?.close();
});

test('with Redis down, /readyz answers 503 at once, an upload is still accepted, and the service stops', async () => {
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  const api = client(server.url);
  const collection = await api.createCollection({ name: 'Outage', embedding_model: 'openai/text-embedding-3-small' });

  await cutRedis();
  // Long enough for ioredis to notice and be between reconnect attempts.
  await new Promise((resolve) => setTimeout(resolve, 500));

  let t0 = Date.now();
  const ready = await fetch(`${server.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(Date.now() - t0).toBeLessThan(1_500);
  expect(((await ready.json()) as { reason: string }).reason).toMatch(/Redis/);

  t0 = Date.now();
  const up = await api.upload(collection.id, [{ name: 'notes.txt', bytes: Buffer.from('Vacation policy: 25 days.') }]);
  expect(up.status).toBe(202);
  expect(Date.now() - t0).toBeLessThan(3_000);
  const id = up.body.documents[0].id as string;
  // Committed before the enqueue: the reconciler's sweep enqueues it once Redis is back.
  expect((await db.query<{ status: string }>('SELECT status FROM documents WHERE id = $1', [id])).rows[0]?.status).toBe('queued');

  t0 = Date.now();
  await server.close();
  await service.stop();
  expect(Date.now() - t0).toBeLessThan(10_000);

  // A new process starting while Redis is still down, with that document unfinished: its start-up
  // sweep cannot enqueue it, and that must not stop the start (it did: the first enqueue now fails fast).
  const again = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger: createLogger({ test: 'ingestion-outage-restart' }, 'error'),
    internalSecret: TEST_SECRET,
    redisUrl: `redis://127.0.0.1:${closedPort}`,
    queueName,
    limits: { reconcileIntervalMs: 3_600_000 },
  });
  await expect(again.start()).resolves.toBeUndefined();
  expect((await db.query<{ status: string }>('SELECT status FROM documents WHERE id = $1', [id])).rows[0]?.status).toBe('queued');
  await again.stop();
});
