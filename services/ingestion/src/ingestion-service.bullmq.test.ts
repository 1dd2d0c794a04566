import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openTestDatabase, type Db } from '@quire/db';
import { ProviderError } from '@quire/models';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { GUIDE_MARKDOWN, makePdf } from './testing/fixtures.js';
import { client, TEST_SECRET } from './testing/http.js';

/** The same upload flow on BullMQ against the real Redis (127.0.0.1:6379), one queue per run. */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const queueName = `ingestion-test-${randomUUID()}`;

let db: Db;
let service: IngestionService;
let server: RunningServer;
let fake: ReturnType<typeof createFakeGatewayModels>;

beforeAll(async () => {
  db = await openTestDatabase();
  fake = createFakeGatewayModels({ dimensions: 32 });
  service = await createIngestionService({
    db,
    models: fake.models,
    logger: createLogger({ test: 'ingestion-bullmq' }, 'error'),
    internalSecret: TEST_SECRET,
    redisUrl: REDIS_URL,
    queueName,
    limits: { retryBaseDelayMs: 10, reconcileIntervalMs: 3_600_000 },
  });
  await service.start();
  server = await listen(service.app, 0);
});

afterAll(async () => {
  await server?.close();
  await service?.stop();
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  await db?.close();
});

test('upload -> BullMQ job -> ready, with a retried provider failure and one set of chunks', async () => {
  const api = client(server.url);
  const collection = await api.createCollection({ name: 'On BullMQ', embedding_model: 'openai/text-embedding-3-small', chunking: { strategy: 'markdown', chunk_size: 200, chunk_overlap: 0 } });
  fake.failures.push(new ProviderError({ code: 'provider_overloaded', provider: 'openai', message: 'Overloaded.', status: 503, retryable: true }));
  const pdf = await makePdf([['First page text.'], ['Second page text.']]);
  const r = await api.upload(collection.id, [
    { name: 'guide.md', bytes: GUIDE_MARKDOWN },
    { name: 'two-pages.pdf', bytes: pdf },
  ]);
  expect(r.status).toBe(202);
  const docs = await Promise.all(r.body.documents.map((d: { id: string }) => api.waitForDocument(d.id)));
  expect(docs.map((d) => d.status)).toEqual(['ready', 'ready']);
  expect(docs.map((d) => d.progress.attempts).sort()).toEqual([1, 2]);
  expect(docs[0].job_id).toBe(`${docs[0].id}-v1`);
  expect(docs[1].progress.pages_total).toBe(2);
  for (const d of docs) {
    const rows = await db.query<{ n: number; distinct_n: number; vectors: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT c.ordinal)::int AS distinct_n, count(cv.chunk_id)::int AS vectors
         FROM chunks c LEFT JOIN chunk_vectors cv ON cv.chunk_id = c.id WHERE c.document_id = $1`,
      [d.id],
    );
    expect(rows.rows[0]).toEqual({ n: d.progress.chunks_total, distinct_n: d.progress.chunks_total, vectors: d.progress.chunks_total });
  }
  // The readiness probe covers Redis as well as the database.
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
});
