import type { Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { createProviderLimiter } from '../embed/provider-semaphore.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { TEAM_A, TEST_SECRET } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';
import { createIndexVersionBuilder } from './index-version-builder.js';
import { createBuildingVersion, getVersion } from './index-versions-repo.js';

/**
 * Index-version build leases: builders on one database, each standing for a process with its own
 * counting fake provider. The service around them only ingests the collection (its own builder
 * sweeps hourly here, so it stays out of the way).
 */
let t: TestIngestion;
let db: Db;
let collectionId: string;
const logger = createLogger({ test: 'build-lease' }, 'error');

beforeAll(async () => {
  t = await startTestIngestion('build-lease');
  db = t.db;
  collectionId = (await t.api.createCollection({ name: 'Leases', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } })).id;
  for (const topic of ['alpha', 'beta']) {
    const text = Array.from({ length: 25 }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i} in some detail.`).join('\n\n');
    const r = await t.api.call(`/v1/collections/${collectionId}/documents`, { json: { text, title: topic } });
    expect((await t.api.waitForDocument(r.body.documents[0].id)).status).toBe('ready');
  }
});

afterAll(() => t?.stop());

function builder(holderId: string, options: { leaseMs?: number; sweepIntervalMs?: number; latencyMs?: number } = {}) {
  const fake = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 4, latencyMs: options.latencyMs ?? 10 });
  const b = createIndexVersionBuilder({
    db, models: fake.models, logger, internalSecret: TEST_SECRET, limiter: createProviderLimiter(4), batchCap: 64, roundSize: 8,
    holderId, leaseMs: options.leaseMs ?? 60_000, sweepIntervalMs: options.sweepIntervalMs ?? 0,
  });
  return { fake, builder: b, texts: () => fake.calls.reduce((n, c) => n + c.values.length, 0) };
}

/** A version being built with another model (each text is embedded anew, not from the cache). */
const newVersion = (model: string) =>
  createBuildingVersion(db, { collectionId, embeddingModel: model, dimensions: null, chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 }, activateOnReady: false, identity: TEAM_A });

async function state(versionId: string) {
  const r = await db.query<{ status: string; build_holder: string | null; vectors: number; chunks: number; texts: number }>(
    `SELECT iv.status, iv.build_holder,
            (SELECT count(*)::int FROM chunk_vectors cv WHERE cv.index_version_id = iv.id) AS vectors,
            (SELECT count(*)::int FROM chunks ch WHERE ch.collection_id = iv.collection_id AND ch.index_version_id IS NULL) AS chunks,
            (SELECT count(DISTINCT ch.content_sha256)::int FROM chunks ch WHERE ch.collection_id = iv.collection_id AND ch.index_version_id IS NULL) AS texts
       FROM index_versions iv WHERE iv.id = $1`,
    [versionId],
  );
  return r.rows[0]!;
}

async function waitFor(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('two builders on one database: only one builds the version, each text is embedded once', async () => {
  const vid = await newVersion('openai/two-builders');
  const a = builder('builder-a');
  const b = builder('builder-b');
  // Two processes starting at once both find the version building.
  await Promise.all([a.builder.start(collectionId, vid), b.builder.start(collectionId, vid)]);

  const s = await state(vid);
  expect(s).toMatchObject({ status: 'ready', vectors: s.chunks, build_holder: null });
  expect([a.fake.calls.length, b.fake.calls.length].filter((n) => n > 0)).toHaveLength(1);
  expect(a.texts() + b.texts()).toBe(s.texts);
  expect((await getVersion(db, collectionId, vid))!.progress).toMatchObject({ stalled: null, resumes: 0, last_stall: null });
  await Promise.all([a.builder.stop(), b.builder.stop()]);
});

test('a lease left by a dead holder is taken over once it expires, by a periodic sweep, and the build completes', async () => {
  const vid = await newVersion('openai/dead-holder');
  // The holder died right after renewing: its lease has already run out, and the version says so.
  await db.query(`UPDATE index_versions SET build_holder = 'dead-builder', build_lease_until = now() - interval '1 second' WHERE id = $1`, [vid]);
  expect((await getVersion(db, collectionId, vid))!.progress.stalled).toMatch(/^Builder dead-builder stopped making progress \(lease expired .*\); waiting for a live process to resume it\.$/);
  // Rewind: the lease is live for another 1.5 s when the survivor starts.
  await db.query(`UPDATE index_versions SET build_lease_until = now() + interval '1500 milliseconds' WHERE id = $1`, [vid]);
  const c = builder('builder-c', { leaseMs: 500, sweepIntervalMs: 100 });
  const startedAt = Date.now();
  await c.builder.resume();
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(c.fake.calls).toHaveLength(0);
  expect(await state(vid)).toMatchObject({ status: 'building', build_holder: 'dead-builder' });

  await waitFor(async () => (await state(vid)).status === 'ready');
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000);
  const s = await state(vid);
  expect(s).toMatchObject({ vectors: s.chunks, build_holder: null });
  expect(c.texts()).toBe(s.texts);
  const progress = (await getVersion(db, collectionId, vid))!.progress;
  expect(progress).toMatchObject({ stalled: null, resumes: 1 });
  expect(progress.last_stall).toMatch(/^Builder dead-builder stopped making progress \(lease expired .*\); resumed by builder-c at .*\.$/);
  await c.builder.stop();
});

test('a builder whose lease passed to another stops at its next renewal and does not finish the version', async () => {
  const vid = await newVersion('openai/usurped');
  const d = builder('builder-d', { latencyMs: 40 });
  const run = d.builder.start(collectionId, vid);
  await waitFor(async () => d.fake.calls.length > 0);
  // Another process took the lease over (this one looked stalled to it).
  await db.query(`UPDATE index_versions SET build_holder = 'usurper', build_lease_until = now() + interval '1 hour' WHERE id = $1`, [vid]);
  const callsAtTakeover = d.fake.calls.length;
  await run;
  expect(d.fake.calls.length).toBeLessThanOrEqual(callsAtTakeover + 1);
  const s = await state(vid);
  expect(s).toMatchObject({ status: 'building', build_holder: 'usurper' });
  expect(s.vectors).toBeLessThan(s.chunks);
  await d.builder.stop();
});
