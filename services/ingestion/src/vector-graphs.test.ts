import type { Db } from '@quire/db';
import { prepareVersionWrite } from './index/index-chunks.js';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { TEST_SECRET, type client } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

const EMBED = 'openai/small';
// Small enough that a few documents cross it: 40 vectors of 32 dimensions.
const LIMITS = { reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5, hnswMinVectors: 40, hnswMaxPending: 1000, hnswSliceMs: 5 };
let t: TestIngestion;
let db: Db;
let service: IngestionService;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  t = await startTestIngestion('vector-graphs', LIMITS);
  ({ db, service, api } = t);
});

afterAll(() => t?.stop());

const TOPICS = ['harbour tides and ferries', 'garden soil and compost', 'laptop warranty and repairs', 'hotel budget and travel', 'quarterly revenue report'];
const text = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `Section ${i} on ${topic}: note ${i * 7} covers ${topic.split(' ')[i % 3]} in detail.`).join('\n\n');
const count = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]!.n;

async function ingest(collectionId: string, topic: string, paragraphs: number): Promise<void> {
  const r = await api.call(`/v1/collections/${collectionId}/documents`, { json: { text: text(topic, paragraphs), title: topic } });
  expect((await api.waitForDocument(r.body.documents[0].id)).status).toBe('ready');
}

async function versionOf(collectionId: string): Promise<{ id: string; state: string; pending: number; vectors: number; indexdef: string | null }> {
  const v = await db.query<{ id: string; hnsw_state: string }>(
    `SELECT iv.id, iv.hnsw_state FROM collections c JOIN index_versions iv ON iv.id = c.current_index_version_id WHERE c.id = $1`,
    [collectionId],
  );
  const id = v.rows[0]!.id;
  const def = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, [`chunk_vectors_hnsw_${id.replace(/-/g, '')}`]);
  return {
    id,
    state: v.rows[0]!.hnsw_state,
    pending: await count('SELECT count(*)::int AS n FROM chunk_vectors WHERE index_version_id = $1 AND graph_pending', [id]),
    vectors: await count('SELECT count(*)::int AS n FROM chunk_vectors WHERE index_version_id = $1', [id]),
    indexdef: def.rows[0]?.indexdef ?? null,
  };
}

/** Top chunks for a stored vector, through the HNSW index only (scans off) or exactly (index scans off). */
async function nearest(versionId: string, probe: string, through: 'graph' | 'exact'): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(through === 'graph' ? 'SET LOCAL enable_seqscan = off' : 'SET LOCAL enable_indexscan = off');
    await tx.query('SET LOCAL hnsw.ef_search = 100');
    const r = await tx.query<{ chunk_id: string }>(
      `SELECT cv.chunk_id FROM chunk_vectors cv WHERE cv.index_version_id = '${versionId}' AND NOT cv.graph_pending
        ORDER BY cv.embedding::vector(32) <=> (SELECT embedding FROM chunk_vectors WHERE chunk_id = $1 AND index_version_id = '${versionId}')::vector(32) LIMIT 5`,
      [probe],
    );
    return r.rows.map((row) => row.chunk_id);
  });
}

test('a small version has no graph; once it crosses the threshold the graph is built in the background and takes every vector', async () => {
  const coll = await api.createCollection({ name: 'Graphs', embedding_model: EMBED, chunking: { strategy: 'recursive', chunk_size: 120, chunk_overlap: 0 } });
  await ingest(coll.id, TOPICS[0]!, 12);
  await service.vectorGraphsIdle();
  const small = await versionOf(coll.id);
  expect(small).toMatchObject({ state: 'exact', indexdef: null });
  expect(small.vectors).toBeGreaterThan(0);
  expect(small.vectors).toBeLessThan(40);
  expect(small.pending).toBe(small.vectors);

  for (const topic of TOPICS.slice(1)) await ingest(coll.id, topic, 12);
  await service.vectorGraphsIdle();
  const large = await versionOf(coll.id);
  expect(large.vectors).toBeGreaterThanOrEqual(40);
  expect(large).toMatchObject({ id: small.id, state: 'graph', pending: 0 });
  expect(large.indexdef).toMatch(/USING hnsw \(\(\(?embedding\)?::vector\(32\)\) vector_cosine_ops\) WHERE \(\(index_version_id = .*\) AND \(NOT graph_pending\)\)/);

  // The graph answers what exact search answers (a few dozen vectors: ef_search covers them all).
  const probe = (await db.query<{ chunk_id: string }>('SELECT chunk_id FROM chunk_vectors WHERE index_version_id = $1 LIMIT 1', [large.id])).rows[0]!.chunk_id;
  expect(await nearest(large.id, probe, 'graph')).toEqual(await nearest(large.id, probe, 'exact'));

  // Vectors were copied from the embedding cache, not re-sent: the same values either way.
  expect(
    await count(
      `SELECT count(*)::int AS n FROM chunk_vectors cv JOIN chunks ch ON ch.id = cv.chunk_id
         JOIN embedding_cache ec ON ec.content_sha256 = ch.content_sha256 AND ec.embedding_model = $2 AND ec.requested_dimensions = 0
        WHERE cv.index_version_id = $1 AND cv.embedding = ec.embedding`,
      [large.id, EMBED],
    ),
  ).toBe(large.vectors);

  // New documents after that wait pending and are moved in too.
  await ingest(coll.id, 'ferry timetable changes', 6);
  await service.vectorGraphsIdle();
  expect(await versionOf(coll.id)).toMatchObject({ state: 'graph', pending: 0 });
});

test('past the pending cap, a graphed version takes new vectors straight into its graph', async () => {
  const coll = await api.createCollection({ name: 'Capped', embedding_model: EMBED, chunking: { strategy: 'recursive', chunk_size: 120, chunk_overlap: 0 } });
  for (const topic of TOPICS) await ingest(coll.id, topic, 12);
  await service.vectorGraphsIdle();
  const v = await versionOf(coll.id);
  expect(v.state).toBe('graph');
  class Rollback extends Error {}
  const decisions = await db
    .transaction(async (tx) => {
      await tx.query('UPDATE chunk_vectors SET graph_pending = true WHERE index_version_id = $1', [v.id]);
      const underCap = await prepareVersionWrite(tx, v.id, 32, { maxPending: v.vectors + 1 });
      const atCap = await prepareVersionWrite(tx, v.id, 32, { maxPending: v.vectors });
      const mismatch = await prepareVersionWrite(tx, v.id, 64).catch((e: Error) => e.name);
      throw Object.assign(new Rollback(), { decisions: { underCap, atCap, mismatch } });
    })
    .catch((e: unknown) => (e as { decisions?: unknown }).decisions);
  expect(decisions).toEqual({ underCap: { pending: true }, atCap: { pending: false }, mismatch: 'EmbeddingValidationError' });
});

test('a service started later finishes what another left pending', async () => {
  const coll = await api.createCollection({ name: 'Resumed', embedding_model: EMBED, chunking: { strategy: 'recursive', chunk_size: 120, chunk_overlap: 0 } });
  for (const topic of TOPICS) await ingest(coll.id, topic, 12);
  await service.vectorGraphsIdle();
  const v = await versionOf(coll.id);
  // As if a process died between slices.
  await db.query('UPDATE chunk_vectors SET graph_pending = true WHERE index_version_id = $1', [v.id]);
  expect((await versionOf(coll.id)).pending).toBe(v.vectors);
  const fake = createFakeGatewayModels({ dimensions: 32 });
  const second = await createIngestionService({ db, models: fake.models, logger: t.logger, internalSecret: TEST_SECRET, limits: LIMITS });
  try {
    await second.start();
    await second.vectorGraphsIdle();
    expect(await versionOf(coll.id)).toMatchObject({ state: 'graph', pending: 0, vectors: v.vectors });
  } finally {
    await second.stop();
  }
});
