import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { takeOverOrphans } from './repo/document-jobs-repo.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { client, TEST_SECRET } from './testing/http.js';
import { storeQueuedText } from './testing/queued-document.js';

/**
 * A restart after a kill -9: the earlier process left documents `processing`, their heartbeats a few
 * seconds old, far from the stall limits (an hour here). Without Redis this process is the only worker,
 * so it takes them over at start; on BullMQ another live worker may hold them, so the limits stay.
 */
const HOUR_MS = 3_600_000;
const limits = { reconcileIntervalMs: HOUR_MS, staleAfterMs: HOUR_MS, deadAfterMs: HOUR_MS, retryBaseDelayMs: 5, attempts: 3 };
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Started {
  db: Db;
  service: IngestionService;
  server: RunningServer;
  api: ReturnType<typeof client>;
}

/** A service listening but not yet started, as scripts/start-quire.ts has it: requests are answered before start(). */
async function listening(name: string, redis?: { url: string; queueName: string }): Promise<Started> {
  const db = await openTestDatabase();
  const service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger: createLogger({ test: name }, 'error'),
    internalSecret: TEST_SECRET,
    limits,
    // As scripts/start-quire.ts starts it: without Redis, the only worker on its database.
    ...(redis ? { redisUrl: redis.url, queueName: redis.queueName } : { soleWorker: true }),
  });
  const server = await listen(service.app, 0);
  return { db, service, server, api: client(server.url) };
}

/** What a process killed mid-attempt leaves: `processing`, its last signs of life `agoS` seconds old. */
async function leaveProcessing(db: Db, documentId: string, attempts: number, agoS = 5): Promise<void> {
  await db.query(
    `UPDATE documents SET status = 'processing', stage = 'parsing', attempts = $2, pages_parsed = 311, pages_total = 1500,
            heartbeat_at = now() - ($3::int * interval '1 second'), alive_at = now() - ($3::int * interval '1 second'),
            updated_at = now() - ($3::int * interval '1 second')
      WHERE id = $1`,
    [documentId, attempts, agoS],
  );
}

const row = async (db: Db, id: string) =>
  (await db.query<{ status: string; version: number; attempts: number }>('SELECT status, version, attempts FROM documents WHERE id = $1', [id])).rows[0];

describe('in-process queue (the only worker)', () => {
  let s: Started;
  afterAll(async () => {
    await s?.server.close();
    await s?.service.stop();
    await s?.db.close();
  });

  test('documents an earlier process left processing are taken over at start, not after the stall limit', async () => {
    s = await listening('restart-orphans');
    const { id: collectionId } = await s.api.createCollection({ name: 'Restarted', embedding_model: 'openai/text-embedding-3-small' });
    const orphan = await storeQueuedText(s.db, collectionId, 'orphan', 20);
    await leaveProcessing(s.db, orphan.documentId, 1);
    const lastTry = await storeQueuedText(s.db, collectionId, 'last-try', 5);
    await leaveProcessing(s.db, lastTry.documentId, 3);
    const queued = await storeQueuedText(s.db, collectionId, 'left-queued', 5);
    // Answered before start (the public port serves as soon as it is bound): its job waits in the queue,
    // and this process's own claim of it must not be taken for an orphan.
    const upload = await s.api.call(`/v1/collections/${collectionId}/documents`, { json: { text: 'Uploaded while the service was starting.' } });
    expect(upload.status).toBe(202);
    const uploadedId: string = upload.body.documents[0].id;

    const started = Date.now();
    await s.service.start();
    const [doc, last, left, uploaded] = await Promise.all(
      [orphan.documentId, lastTry.documentId, queued.documentId, uploadedId].map((id) => s.api.waitForDocument(id, 15_000)),
    );
    expect(Date.now() - started).toBeLessThan(15_000); // against an hour's limits

    // The takeover counts as an attempt, under the next version, as a stall takeover does.
    expect(doc).toMatchObject({ status: 'ready', job_id: `${orphan.documentId}-v2`, progress: { attempts: 2 } });
    // On its last attempt it fails, as a stalled one does.
    expect(last).toMatchObject({ status: 'failed', error: { code: 'stalled', stage: 'parsing' }, progress: { attempts: 3 } });
    expect(last.error.message).toBe('Worker stopped (its process restarted) during parsing on attempt 3 of 3; not retried again.');
    // Queued ones, and the upload this process claimed itself, run once.
    expect(left).toMatchObject({ status: 'ready', job_id: `${queued.documentId}-v1`, progress: { attempts: 1, stalled: null } });
    expect(uploaded).toMatchObject({ status: 'ready', job_id: `${uploadedId}-v1`, progress: { attempts: 1, stalled: null } });
  });

  test('the takeover says why while the document runs again (ready clears it)', async () => {
    const { id: collectionId } = await s.api.createCollection({ name: 'Reason', embedding_model: 'openai/text-embedding-3-small' });
    const orphan = await storeQueuedText(s.db, collectionId, 'reason', 5);
    await leaveProcessing(s.db, orphan.documentId, 1);
    // Nothing enqueues what this takes over (the reconciler's interval is an hour), so the row keeps it.
    expect(await takeOverOrphans(s.db, 10, 3)).toEqual([expect.objectContaining({ documentId: orphan.documentId, version: 2 })]);
    const view = (await s.api.call(`/v1/documents/${orphan.documentId}`)).body;
    expect(view).toMatchObject({ status: 'queued', progress: { attempts: 1 } });
    expect(view.progress.stalled).toMatch(/^Worker stopped \(its process restarted\) during parsing \(attempt 1\); taken over and retried at \S+Z\.$/);
  });
});

describe('BullMQ (several workers share the queue)', () => {
  const queueName = `ingestion-orphans-${randomUUID()}`;
  let s: Started;
  afterAll(async () => {
    await s?.server.close();
    await s?.service.stop();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
    await s?.db.close();
  });

  test('a processing document with a recent heartbeat is left to its worker until the stall limit', async () => {
    s = await listening('restart-orphans-bullmq', { url: REDIS_URL, queueName });
    const { id: collectionId } = await s.api.createCollection({ name: 'Shared queue', embedding_model: 'openai/text-embedding-3-small' });
    const held = await storeQueuedText(s.db, collectionId, 'held', 5);
    await leaveProcessing(s.db, held.documentId, 1);
    const queued = await storeQueuedText(s.db, collectionId, 'queued', 5);

    await s.service.start();
    await s.service.reconcile();
    // Start-up took nothing over: the held document stays with its (presumed live) worker, at its version.
    expect(await s.api.waitForDocument(queued.documentId, 15_000)).toMatchObject({ status: 'ready', progress: { attempts: 1 } });
    expect(await row(s.db, held.documentId)).toEqual({ status: 'processing', version: 1, attempts: 1 });
    expect((await s.api.call(`/v1/documents/${held.documentId}`)).body.progress.stalled).toBeNull();
  });
});
