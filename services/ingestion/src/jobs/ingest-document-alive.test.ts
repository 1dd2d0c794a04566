import type { Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { createProviderLimiter } from '../embed/provider-semaphore.js';
import { resolveLimits } from '../limits.js';
import { createParsePool } from '../parse/parse-pool.js';
import { takeOverStale } from '../repo/document-jobs-repo.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { TEST_SECRET } from '../testing/http.js';
import { storeQueuedText } from '../testing/queued-document.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';
import { createIngestDocumentHandler } from './ingest-document-handler.js';

/**
 * Liveness apart from progress: a claim whose holder stopped showing signs of life is taken over
 * after deadAfterMs, long before the no-progress time; a live holder's claim is not, even while it
 * writes no progress. Small times here; the defaults are 5 s, 60 s and 10 min.
 */
let t: TestIngestion;
let db: Db;
let collectionId: string;
const logger = createLogger({ test: 'ingest-alive' }, 'error');
const DEAD_AFTER_MS = 400;
const limits = resolveLimits({ staleAfterMs: 600_000, deadAfterMs: DEAD_AFTER_MS, aliveIntervalMs: 50 });
const parsePool = createParsePool({ size: 1, timeoutMs: 30_000, maxHeapMb: 256, limits: { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 } });
// One embedding call for the whole document, slower than the dead-after time: the holder writes no
// progress while it waits, so only its alive_at refreshes show that it is alive.
const provider = createFakeGatewayModels({ dimensions: 16, maxEmbeddingsPerCall: 64, latencyMs: 3 * DEAD_AFTER_MS });

const worker = () =>
  createIngestDocumentHandler({ db, models: provider.models, logger, internalSecret: TEST_SECRET, limits, parsePool, limiter: createProviderLimiter(4) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  t = await startTestIngestion('ingest-alive');
  db = t.db;
  collectionId = (await t.api.createCollection({ name: 'Alive', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } })).id;
});

afterAll(async () => {
  await parsePool.close();
  await t?.stop();
});

const storeQueued = (topic: string) => storeQueuedText(db, collectionId, topic, 20);

const providerCalls = (documentId: string) => provider.calls.filter((c) => c.context.documentId === documentId).length;

async function stored(documentId: string) {
  const r = await db.query<{ status: string; stage: string; version: number; attempts: number; chunks: number; stall_reason: string | null }>(
    `SELECT status, stage, version, attempts, stall_reason, (SELECT count(*)::int FROM chunks ch WHERE ch.document_id = d.id) AS chunks FROM documents d WHERE id = $1`,
    [documentId],
  );
  return r.rows[0]!;
}

test('a live holder that writes no progress for longer than deadAfterMs keeps its claim: a redelivery is a no-op', async () => {
  const payload = await storeQueued('live');
  const ctx = { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 };
  const first = worker()(payload, ctx);
  // Wait until the holder is inside its one slow embedding call, then past the dead-after time.
  const deadline = Date.now() + 10_000;
  while ((await stored(payload.documentId)).stage !== 'embedding' && Date.now() < deadline) await sleep(10);
  await sleep(2 * DEAD_AFTER_MS);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'processing', stage: 'embedding', version: 1 });

  await expect(worker()(payload, ctx)).resolves.toBeUndefined();
  expect(await takeOverStale(db, limits.staleAfterMs, 10, limits.attempts, limits.deadAfterMs)).toEqual([]);
  await first;
  expect(await stored(payload.documentId)).toMatchObject({ status: 'ready', version: 1, attempts: 1 });
  expect(providerCalls(payload.documentId)).toBe(1);
});

test('a holder that stopped showing signs of life is taken over by a redelivery after deadAfterMs, its progress recent or not', async () => {
  const payload = await storeQueued('dead');
  const ctx = { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 };
  // Another worker claimed it and wrote progress a moment ago; then it was killed (no timer runs).
  await db.query(`UPDATE documents SET status = 'processing', stage = 'embedding', attempts = 1, heartbeat_at = now(), alive_at = now() WHERE id = $1`, [payload.documentId]);
  await worker()(payload, ctx);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'processing', version: 1, attempts: 1, chunks: 0 });
  expect(providerCalls(payload.documentId)).toBe(0);

  await sleep(DEAD_AFTER_MS + 100);
  await worker()(payload, { ...ctx, attempt: 2 });
  expect(await stored(payload.documentId)).toMatchObject({ status: 'ready', version: 2, attempts: 2, chunks: expect.any(Number) });
  expect(providerCalls(payload.documentId)).toBe(1);
});

test('the reconciler takes over a dead holder at once, and says which rule fired', async () => {
  // Progress 1 s ago is recent for the 600 s stale-after time; but no sign of life since, either.
  const dead = await storeQueued('reconciled-dead');
  const stalled = await storeQueued('reconciled-stalled');
  await db.query(`UPDATE documents SET status = 'processing', stage = 'embedding', attempts = 1, heartbeat_at = now() - interval '1 second', alive_at = now() - interval '1 second' WHERE id = $1`, [dead.documentId]);
  // Alive (its timer runs) but stuck: no progress for longer than the stale-after time.
  await db.query(`UPDATE documents SET status = 'processing', stage = 'parsing', attempts = 1, heartbeat_at = now() - interval '1 hour', alive_at = now() WHERE id = $1`, [stalled.documentId]);
  const taken = await takeOverStale(db, limits.staleAfterMs, 10, limits.attempts, limits.deadAfterMs);
  expect(taken.map((d) => d.documentId).sort()).toEqual([dead.documentId, stalled.documentId].sort());
  expect(await stored(dead.documentId)).toMatchObject({ status: 'queued', version: 2 });
  expect((await stored(dead.documentId)).stall_reason).toMatch(/^Worker stopped \(no sign of life for 400 ms\) during embedding \(attempt 1\); taken over and retried at /);
  expect((await stored(stalled.documentId)).stall_reason).toMatch(/^No progress for 600 s during parsing \(attempt 1\); taken over and retried at /);
});
