import { UnrecoverableError } from 'bullmq';
import type { Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { createProviderLimiter } from '../embed/provider-semaphore.js';
import { resolveLimits, type IngestionLimits } from '../limits.js';
import { createParsePool } from '../parse/parse-pool.js';
import { takeOverStale } from '../repo/document-jobs-repo.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { TEST_SECRET } from '../testing/http.js';
import { storeQueuedText } from '../testing/queued-document.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';
import { AttemptLostError } from './attempt-lost-error.js';
import { createIngestDocumentHandler } from './ingest-document-handler.js';

/**
 * An attempt that no longer owns its document (deleted, taken over, superseded by a replacement's
 * swap) stops at its next batch, cancels the call in flight, and completes without writing: the
 * provider calls after the change are at most the one in flight. A slow fake provider, two texts a
 * call, stands in for a long embedding.
 */
let t: TestIngestion;
let db: Db;
let collectionId: string;
const logger = createLogger({ test: 'ingest-stop' }, 'error');
const parsePool = createParsePool({ size: 1, timeoutMs: 30_000, maxHeapMb: 256, limits: { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 } });
const slow = createFakeGatewayModels({ dimensions: 16, maxEmbeddingsPerCall: 2, latencyMs: 80 });
// One call for the whole document, far longer than the test waits: only the keep-alive can notice.
const hung = createFakeGatewayModels({ dimensions: 16, maxEmbeddingsPerCall: 256, latencyMs: 60_000 });
// The keep-alive stays out of the way unless a test sets a short interval.
const quiet = resolveLimits({ staleAfterMs: 600_000, deadAfterMs: 600_000, aliveIntervalMs: 600_000 });

const worker = (provider = slow, limits: IngestionLimits = quiet) =>
  createIngestDocumentHandler({ db, models: provider.models, logger, internalSecret: TEST_SECRET, limits, parsePool, limiter: createProviderLimiter(4) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const callsFor = (provider: typeof slow, documentId: string) => provider.calls.filter((c) => c.context.documentId === documentId);

beforeAll(async () => {
  t = await startTestIngestion('ingest-stop');
  db = t.db;
  collectionId = (await t.api.createCollection({ name: 'Stop', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } })).id;
});

afterAll(async () => {
  await parsePool.close();
  await t?.stop();
});

async function stored(documentId: string) {
  const r = await db.query<{ status: string; version: number; attempts: number; error_code: string | null }>(
    `SELECT status, version, attempts, error_code FROM documents WHERE id = $1`,
    [documentId],
  );
  return r.rows[0] ?? null;
}

const chunkCount = async (documentId: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [documentId])).rows[0]!.n;

/** Waits until the attempt has made `calls` provider calls for the document. */
async function untilCalls(provider: typeof slow, documentId: string, calls: number) {
  const deadline = Date.now() + 15_000;
  while (callsFor(provider, documentId).length < calls) {
    if (Date.now() > deadline) throw new Error(`only ${callsFor(provider, documentId).length} calls`);
    await sleep(5);
  }
}

test('deleted mid-embedding: at most the call in flight follows, it is cancelled, and nothing comes back', async () => {
  const payload = await storeQueuedText(db, collectionId, 'deleted', 60);
  const job = worker()(payload, { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 });
  await untilCalls(slow, payload.documentId, 3);
  await db.query(`DELETE FROM documents WHERE id = $1`, [payload.documentId]);
  const atDelete = callsFor(slow, payload.documentId).length;

  // Completes (no retry, nothing recorded as failed).
  await expect(job).resolves.toBeUndefined();
  const calls = callsFor(slow, payload.documentId);
  expect(calls.length - atDelete).toBeLessThanOrEqual(1);
  // The document had many more batches to go.
  expect(calls.length).toBeLessThan(15);
  // The last call was either cancelled by the loss or had ended before it was noticed.
  const last = calls.at(-1)!.signal!;
  if (last.aborted) expect(last.reason).toBeInstanceOf(AttemptLostError);
  expect(await stored(payload.documentId)).toBeNull();
  expect(await chunkCount(payload.documentId)).toBe(0);
});

test('deleted during one long call: the keep-alive notices and cancels it', async () => {
  const payload = await storeQueuedText(db, collectionId, 'deleted-hung', 20);
  const started = Date.now();
  const job = worker(hung, resolveLimits({ ...quiet, aliveIntervalMs: 30 }))(payload, { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 });
  await untilCalls(hung, payload.documentId, 1);
  await db.query(`DELETE FROM documents WHERE id = $1`, [payload.documentId]);

  await expect(job).resolves.toBeUndefined();
  expect(Date.now() - started).toBeLessThan(10_000);
  const calls = callsFor(hung, payload.documentId);
  expect(calls).toHaveLength(1);
  expect(calls[0]!.signal?.aborted).toBe(true);
  expect(await chunkCount(payload.documentId)).toBe(0);
});

test('taken over mid-embedding: the old attempt stops without writing, the new one indexes once', async () => {
  const payload = await storeQueuedText(db, collectionId, 'taken-over', 60);
  const ctx = { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 };
  const old = worker()(payload, ctx);
  await untilCalls(slow, payload.documentId, 3);
  // The reconciler finds it abandoned (stale-after 0 here) and queues it under version 2.
  const taken = await takeOverStale(db, 0, 10, 3, 600_000);
  expect(taken.map((d) => d.documentId)).toEqual([payload.documentId]);
  const atTakeover = callsFor(slow, payload.documentId).length;

  await expect(old).resolves.toBeUndefined();
  expect(callsFor(slow, payload.documentId).length - atTakeover).toBeLessThanOrEqual(1);
  // Neither failed nor set back to a retry by the old attempt: the row is the takeover's.
  expect(await stored(payload.documentId)).toMatchObject({ status: 'queued', version: 2, attempts: 1, error_code: null });
  expect(await chunkCount(payload.documentId)).toBe(0);

  await worker()({ ...payload, version: 2 }, { ...ctx, jobId: `${payload.documentId}-v2` });
  const doc = await db.query<{ status: string; chunks_total: number; chunks: number; ordinals: number }>(
    `SELECT status, chunks_total, (SELECT count(*)::int FROM chunks c WHERE c.document_id = d.id) AS chunks,
            (SELECT count(DISTINCT ordinal)::int FROM chunks c WHERE c.document_id = d.id) AS ordinals FROM documents d WHERE id = $1`,
    [payload.documentId],
  );
  expect(doc.rows[0]).toMatchObject({ status: 'ready', chunks: doc.rows[0]!.chunks_total, ordinals: doc.rows[0]!.chunks_total });
});

test('superseded mid-embedding (a replacement swapped in under a newer version): the original job stops', async () => {
  const payload = await storeQueuedText(db, collectionId, 'superseded', 60);
  const job = worker()(payload, { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 3 });
  await untilCalls(slow, payload.documentId, 3);
  // What the replacement's index transaction does to the document it replaces.
  await db.query(`UPDATE documents SET version = version + 1, status = 'ready', stage = 'done' WHERE id = $1`, [payload.documentId]);
  const atSwap = callsFor(slow, payload.documentId).length;

  await expect(job).resolves.toBeUndefined();
  expect(callsFor(slow, payload.documentId).length - atSwap).toBeLessThanOrEqual(1);
  expect(await stored(payload.documentId)).toMatchObject({ status: 'ready', version: 2 });
  expect(await chunkCount(payload.documentId)).toBe(0);
});

test('a provider call that hangs is stopped at the call deadline, although the keep-alive holds the claim: the attempt fails as a provider timeout', async () => {
  const payload = await storeQueuedText(db, collectionId, 'hung-deadline', 20);
  const started = Date.now();
  const limits = resolveLimits({ ...quiet, aliveIntervalMs: 30, embedCallTimeoutMs: 300 });
  const run = worker(hung, limits)(payload, { jobId: `${payload.documentId}-v1`, attempt: 1, maxAttempts: 1 });
  // The last attempt: marked failed, and thrown as unrecoverable so the queue does not retry it.
  await expect(run).rejects.toBeInstanceOf(UnrecoverableError);
  await expect(run).rejects.toThrow(/300 ms/);
  expect(Date.now() - started).toBeLessThan(10_000);
  const calls = callsFor(hung, payload.documentId);
  expect(calls).toHaveLength(1);
  expect(calls[0]!.signal?.aborted).toBe(true);
  expect(calls[0]!.signal?.reason).toMatchObject({ code: 'provider_timeout', retryable: true });
  expect(await stored(payload.documentId)).toMatchObject({ status: 'failed', error_code: 'provider_timeout' });
  expect(await chunkCount(payload.documentId)).toBe(0);
});
