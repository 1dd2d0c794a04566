import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { createLogger } from '@quire/server-kit';
import { createProviderLimiter } from '../embed/provider-semaphore.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { TEAM_A, TEST_SECRET } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';
import { BuildLeaseLostError } from './build-lease.js';
import { createIndexVersionBuilder } from './index-version-builder.js';
import { createBuildingVersion, getVersion } from './index-versions-repo.js';

/**
 * The build lease's heartbeat: a provider call may outlast the lease without the build looking
 * stalled, and a build whose lease is gone stops mid-call. Each builder stands for a process with
 * its own slow provider; one call embeds the whole collection (batches of 64), so "billed once"
 * is "one call".
 */
let t: TestIngestion;
let db: Db;
let collectionId: string;
const logger = createLogger({ test: 'build-lease-heartbeat' }, 'error');

beforeAll(async () => {
  t = await startTestIngestion('build-lease-heartbeat');
  db = t.db;
  collectionId = (await t.api.createCollection({ name: 'Heartbeat', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } })).id;
  for (const topic of ['alpha', 'beta']) {
    const text = Array.from({ length: 25 }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i} in some detail.`).join('\n\n');
    const r = await t.api.call(`/v1/collections/${collectionId}/documents`, { json: { text, title: topic } });
    expect((await t.api.waitForDocument(r.body.documents[0].id)).status).toBe('ready');
  }
});

afterAll(() => t?.stop());

interface SlowCall {
  values: string[];
  signal: AbortSignal | undefined;
  done: boolean;
}

/** A provider that takes `latencyMs` per call and, like the HTTP client, stops at once when the call's signal aborts. */
function slowProvider(latencyMs: number) {
  const inner = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 64 });
  const calls: SlowCall[] = [];
  const models: GatewayModels = {
    ...inner.models,
    embeddingModel(name, context) {
      const model = inner.models.embeddingModel(name, context);
      return {
        ...model,
        async doEmbed(options) {
          const call: SlowCall = { values: options.values, signal: options.abortSignal, done: false };
          calls.push(call);
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, latencyMs);
            options.abortSignal?.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(options.abortSignal!.reason);
            });
          });
          const result = await model.doEmbed(options);
          call.done = true;
          return result;
        },
      };
    },
  };
  return { models, calls, texts: () => calls.reduce((n, c) => n + c.values.length, 0) };
}

function builder(holderId: string, models: GatewayModels, options: { leaseMs: number; sweepIntervalMs?: number; callTimeoutMs?: number; maxRetries?: number }) {
  return createIndexVersionBuilder({
    db, models, logger, internalSecret: TEST_SECRET, limiter: createProviderLimiter(4), batchCap: 64, roundSize: 64,
    holderId, leaseMs: options.leaseMs, sweepIntervalMs: options.sweepIntervalMs ?? 0,
    ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
  });
}

/** A version being built with another model (each text is embedded anew, not from the cache). */
const newVersion = (model: string) =>
  createBuildingVersion(db, { collectionId, embeddingModel: model, dimensions: null, chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 }, activateOnReady: false, identity: TEAM_A });

async function state(versionId: string) {
  const r = await db.query<{ status: string; build_holder: string | null; error_message: string | null; vectors: number; chunks: number; texts: number; cached: number }>(
    `SELECT iv.status, iv.build_holder, iv.error_message,
            (SELECT count(*)::int FROM chunk_vectors cv WHERE cv.index_version_id = iv.id) AS vectors,
            (SELECT count(*)::int FROM chunks ch WHERE ch.collection_id = iv.collection_id AND ch.index_version_id IS NULL) AS chunks,
            (SELECT count(DISTINCT ch.content_sha256)::int FROM chunks ch WHERE ch.collection_id = iv.collection_id AND ch.index_version_id IS NULL) AS texts,
            (SELECT count(*)::int FROM embedding_cache ec WHERE ec.embedding_model = iv.embedding_model) AS cached
       FROM index_versions iv WHERE iv.id = $1`,
    [versionId],
  );
  return r.rows[0]!;
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('a provider call longer than the lease keeps it: a sweeping builder never takes over, and the batch is embedded once', async () => {
  const vid = await newVersion('openai/slow-call');
  // A 2 s lease renewed every third of it: a loaded machine's stall does not let it lapse, as a
  // 300 ms one could, so only a heartbeat that stops (the failure under test) hands the build over.
  const slow = slowProvider(4_500);
  const a = builder('builder-slow', slow.models, { leaseMs: 2_000 });
  const run = a.start(collectionId, vid);
  await waitFor(() => slow.calls.length > 0);

  // Another process sweeps for stalled builds every 50 ms while the call (over two leases long) is in flight.
  const other = slowProvider(10);
  const b = builder('builder-sweeper', other.models, { leaseMs: 2_000, sweepIntervalMs: 50 });
  await b.resume();
  const holders = new Set<string | null>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      holders.add((await state(vid)).build_holder);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  await run;
  watching = false;
  await watch;
  await b.stop();

  const s = await state(vid);
  expect(s).toMatchObject({ status: 'ready', vectors: s.chunks, build_holder: null });
  expect(slow.calls).toHaveLength(1);
  expect(slow.texts()).toBe(s.texts);
  expect(other.calls).toHaveLength(0);
  expect([...holders].filter((h) => h !== null && h !== 'builder-slow')).toEqual([]);
  expect((await getVersion(db, collectionId, vid))!.progress).toMatchObject({ resumes: 0, last_stall: null });
});

test('a lease lost mid-call aborts the call in flight, and the build stops without writing', async () => {
  const vid = await newVersion('openai/usurped-mid-call');
  const slow = slowProvider(10_000);
  const a = builder('builder-usurped', slow.models, { leaseMs: 300 });
  const run = a.start(collectionId, vid);
  await waitFor(() => slow.calls.length > 0);

  // Another process took the lease over (or an operator did); the next heartbeat finds it gone.
  const takenAt = Date.now();
  await db.query(`UPDATE index_versions SET build_holder = 'usurper', build_lease_until = now() + interval '1 hour' WHERE id = $1`, [vid]);
  await run;
  // Well before the 10 s call would have ended: the heartbeat (every 100 ms) aborted it.
  expect(Date.now() - takenAt).toBeLessThan(5_000);

  expect(slow.calls).toHaveLength(1);
  expect(slow.calls[0]!.done).toBe(false);
  expect(slow.calls[0]!.signal?.aborted).toBe(true);
  expect(slow.calls[0]!.signal?.reason).toBeInstanceOf(BuildLeaseLostError);
  expect(await state(vid)).toMatchObject({ status: 'building', build_holder: 'usurper', vectors: 0, cached: 0 });
  await a.stop();
});

test('a hung provider call is ended by the call deadline, not by the heartbeat-renewed lease', async () => {
  const vid = await newVersion('openai/hung-call');
  const hung = slowProvider(60_000);
  const a = builder('builder-hung', hung.models, { leaseMs: 300, callTimeoutMs: 400, maxRetries: 0 });
  const startedAt = Date.now();
  await a.start(collectionId, vid);
  expect(Date.now() - startedAt).toBeLessThan(5_000);

  expect(hung.calls).toHaveLength(1);
  expect(hung.calls[0]!.signal?.aborted).toBe(true);
  const s = await state(vid);
  expect(s).toMatchObject({ status: 'failed', vectors: 0, build_holder: null });
  expect(s.error_message).toMatch(/took longer than 400 ms/);
  await a.stop();
});
