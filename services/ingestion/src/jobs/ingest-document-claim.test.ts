import type { Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { createProviderLimiter } from '../embed/provider-semaphore.js';
import { resolveLimits } from '../limits.js';
import { createParsePool } from '../parse/parse-pool.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { TEST_SECRET } from '../testing/http.js';
import { storeQueuedText } from '../testing/queued-document.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';
import { createIngestDocumentHandler } from './ingest-document-handler.js';

/**
 * Exclusive claims: the handler runs on a real database against a counting fake provider, as two
 * "workers" (own limiter each) sharing it. The service around it only provides the collection.
 */
let t: TestIngestion;
let db: Db;
let collectionId: string;
const logger = createLogger({ test: 'ingest-claim' }, 'error');
const limits = resolveLimits({ staleAfterMs: 60_000 });
const parsePool = createParsePool({ size: 2, timeoutMs: 30_000, maxHeapMb: 256, limits: { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 } });
// Slow enough that both deliveries are in flight at once.
const provider = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 4, latencyMs: 20 });
const notified: string[] = [];

const worker = () =>
  createIngestDocumentHandler({
    db, models: provider.models, logger, internalSecret: TEST_SECRET, limits, parsePool, limiter: createProviderLimiter(4),
    graphs: { notify: (versionId) => void notified.push(versionId) },
  });

beforeAll(async () => {
  t = await startTestIngestion('ingest-claim');
  db = t.db;
  collectionId = (await t.api.createCollection({ name: 'Claims', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } })).id;
});

afterAll(async () => {
  await parsePool.close();
  await t?.stop();
});

const storeQueued = (topic: string) => storeQueuedText(db, collectionId, topic, 30);

const providerCalls = (documentId: string) => provider.calls.filter((c) => c.context.documentId === documentId);

async function stored(documentId: string) {
  const r = await db.query<{ status: string; version: number; attempts: number; chunks_total: number; chunks: number; ordinals: number; texts: number; vectors: number }>(
    `SELECT d.status, d.version, d.attempts, d.chunks_total,
            (SELECT count(*)::int FROM chunks ch WHERE ch.document_id = d.id) AS chunks,
            (SELECT count(DISTINCT ch.ordinal)::int FROM chunks ch WHERE ch.document_id = d.id) AS ordinals,
            (SELECT count(DISTINCT ch.content_sha256)::int FROM chunks ch WHERE ch.document_id = d.id) AS texts,
            (SELECT count(*)::int FROM chunk_vectors cv JOIN chunks ch ON ch.id = cv.chunk_id WHERE ch.document_id = d.id) AS vectors
       FROM documents d WHERE d.id = $1`,
    [documentId],
  );
  return r.rows[0]!;
}

test('two concurrent deliveries of one job: one provider call per batch, one set of chunks, ready once', async () => {
  const payload = await storeQueued('concurrent');
  notified.length = 0;
  const ctx = { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 };
  // Two workers take the same job at once (a stalled-job redelivery while the first still runs).
  await Promise.all([worker()(payload, ctx), worker()(payload, ctx)]);

  const doc = await stored(payload.documentId);
  expect(doc).toMatchObject({ status: 'ready', version: 1, attempts: 1 });
  expect(doc.chunks_total).toBeGreaterThan(8);
  expect(doc).toMatchObject({ chunks: doc.chunks_total, ordinals: doc.chunks_total, vectors: doc.chunks_total });
  // The fake takes 4 texts a call: every distinct text went to the provider exactly once.
  const calls = providerCalls(payload.documentId);
  expect(calls.length).toBe(Math.ceil(doc.texts / 4));
  expect(calls.flatMap((c) => c.values).length).toBe(doc.texts);
  // Indexing committed once: the graph maintainer heard of the vectors once.
  expect(notified).toHaveLength(1);
});

test('a delivery while a live attempt holds the document is a no-op; once that attempt stalls, a delivery takes it over', async () => {
  const payload = await storeQueued('held');
  const ctx = { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 };
  // Another worker claimed it a moment ago and is heartbeating.
  await db.query(`UPDATE documents SET status = 'processing', stage = 'embedding', attempts = 1, heartbeat_at = now() WHERE id = $1`, [payload.documentId]);
  await expect(worker()(payload, ctx)).resolves.toBeUndefined();
  expect(providerCalls(payload.documentId)).toHaveLength(0);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'processing', version: 1, attempts: 1, chunks: 0 });

  // That worker died: no heartbeat for longer than staleAfterMs. A redelivery takes over under v2.
  await db.query(`UPDATE documents SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [payload.documentId]);
  await worker()(payload, { ...ctx, attempt: 2 });
  const doc = await stored(payload.documentId);
  expect(doc).toMatchObject({ status: 'ready', version: 2, attempts: 2, chunks: doc.chunks_total, vectors: doc.chunks_total });
  expect(providerCalls(payload.documentId).length).toBe(Math.ceil(doc.texts / 4));

  // The dead worker's job wakes up: it is fenced out by the version and changes nothing.
  await worker()(payload, ctx);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'ready', version: 2, attempts: 2, chunks: doc.chunks_total });
});

test('a stalled attempt that was the last one is not taken over by a delivery (the reconciler fails it)', async () => {
  const payload = await storeQueued('exhausted');
  await db.query(`UPDATE documents SET status = 'processing', attempts = $2, heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [payload.documentId, limits.attempts]);
  await worker()(payload, { jobId: 'x', attempt: 1, maxAttempts: 3 });
  expect(providerCalls(payload.documentId)).toHaveLength(0);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'processing', version: 1, attempts: limits.attempts });
});
