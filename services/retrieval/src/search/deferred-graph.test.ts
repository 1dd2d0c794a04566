import type { Db } from '@quire/db';
import { SearchResponseSchema, type Identity } from '@quire/contracts';
import { fakeEmbedding } from '@quire/fakes';
import { hnswIndexName, moveIntoGraph, startVersionGraph } from '@quire/index-versions';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { DIMENSIONS, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { vectorQuery } from './vector-search.js';

/**
 * Ingestion builds a version's HNSW graph only once the version is large (packages/index-versions,
 * vector-graph.ts). Before that search is exact; while the graph fills, vectors not moved in yet are
 * searched exactly beside it. Either way a query must return what exact search returns.
 */
const TEAM: Identity = { team_id: 'team-g', key_id: 'key-g', role: 'member', groups: [] };
const QUESTION = 'When is high tide at Port Zephyr?';
const FILLER = {
  title: 'Filler',
  chunks: Array.from({ length: 60 }, (_, i) => ({ text: `Logbook entry ${i}: ${['calm sea', 'north wind', 'ferry late', 'harbour busy', 'rain at noon'][i % 5]} near pier ${i % 7}.` })),
};
let db: Db;
let harness: RetrievalHarness;
let seeded: SeededCollection;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      seeded = await seedCollection(db, { teamId: TEAM.team_id, name: 'deferred', embeddingModel: 'fake/embed', generationModel: null, hnsw: 'exact', documents: [HARBOUR_GUIDE, GARDEN_NOTES, FILLER] });
    },
  });
  ({ db } = harness);
});

afterAll(() => harness?.close());

async function search(query: string): Promise<{ id: string; score: number }[]> {
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(TEAM, SECRET) },
    body: JSON.stringify({ query, mode: 'vector', top_k: 8 }),
  });
  expect(res.status).toBe(200);
  return SearchResponseSchema.parse(await res.json()).results.map((r) => ({ id: r.chunk_id, score: r.score }));
}

/** Equal rankings: the same scores, and the same chunks at each score above the last (chunks of equal score may come in any order, and the last score's may be cut anywhere). */
function expectSameRanking(got: { id: string; score: number }[], want: { id: string; score: number }[]): void {
  expect(got.map((r) => r.score.toFixed(6))).toEqual(want.map((r) => r.score.toFixed(6)));
  const last = want[want.length - 1]!.score.toFixed(6);
  const above = (rs: { id: string; score: number }[]) =>
    rs
      .filter((r) => r.score.toFixed(6) !== last)
      .map((r) => `${r.score.toFixed(6)} ${r.id}`)
      .sort();
  expect(above(got)).toEqual(above(want));
}

const pending = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM chunk_vectors WHERE index_version_id = $1 AND graph_pending', [seeded.indexVersionId])).rows[0]!.n;

test('exact before the graph exists, the same top results while it fills and once it is complete', async () => {
  const version = seeded.indexVersionId!;
  const queries = [QUESTION, 'compost for clay soil', 'ferry late at pier'];
  const exact = new Map<string, { id: string; score: number }[]>();
  for (const q of queries) exact.set(q, await search(q));
  expect(exact.get(QUESTION)![0]!.id).toBe(seeded.chunkIds[0]![2]);
  expect(await pending()).toBe(72);

  expect(await db.transaction((tx) => startVersionGraph(tx, version))).toBe('started');
  expect(await db.transaction((tx) => moveIntoGraph(tx, version, 30))).toBe(30);
  expect(await pending()).toBe(42);
  for (const q of queries) expectSameRanking(await search(q), exact.get(q)!);

  while ((await db.transaction((tx) => moveIntoGraph(tx, version, 30))) > 0);
  expect(await pending()).toBe(0);
  for (const q of queries) expectSameRanking(await search(q), exact.get(q)!);
});

test('the graph branch of the query uses the version HNSW index', async () => {
  const plan = await db
    .transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      const v = vectorQuery({ collectionId: seeded.collectionId, indexVersionId: seeded.indexVersionId!, dimensions: DIMENSIONS, embedding: fakeEmbedding(QUESTION, DIMENSIONS), limit: 10, pendingTail: true });
      const rows = await tx.query<Record<string, string>>(`EXPLAIN ${v.sql}`, v.params);
      throw Object.assign(new Error('rollback'), { plan: rows.rows.map((r) => Object.values(r)[0]).join('\n') });
    })
    .catch((e: { plan?: string }) => e.plan);
  expect(plan).toContain(hnswIndexName(seeded.indexVersionId!));
});
