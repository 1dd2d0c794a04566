import type { Db } from '@quire/db';
import { openTestDatabase } from '@quire/db';
import { fakeEmbedding } from '@quire/fakes';
import { activateIndexVersion } from '@quire/index-versions';
import { signIdentity } from '@quire/server-kit';
import type { SearchMode } from '@quire/contracts';
import { loadCollection, type OwnedCollection } from '../collections/collection-repository.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, HARBOUR_GUIDE, seedCollection } from '../testing/seed.js';
import { createBm25KeywordRetriever } from './bm25-retriever.js';
import { runSearch, type SearchDeps } from './search-pipeline.js';
import { toVectorLiteral } from './vector-search.js';

/**
 * "Queries switch to a new index version atomically: search sees the old version or the new, never
 * a mix or nothing." A query loads the collection (and so its version) before its legs run; here a
 * re-chunked version is activated in between, which moves the chunk sets under it.
 */
let db: Db;
let deps: SearchDeps;
const call = { identityToken: signIdentity({ team_id: 'team-a', key_id: 'k', role: 'member', groups: [] }, 'test-secret-for-retrieval-0123456789'), traceId: 't' };

beforeAll(async () => {
  db = await openTestDatabase();
  deps = { db, models: createFakeGatewayModels(db, DIMENSIONS), keyword: createBm25KeywordRetriever(db) };
});
afterAll(async () => {
  await db?.close();
});

/** A built version with other chunking: two chunks of the first version become one. */
async function buildRechunkedVersion(collectionId: string): Promise<{ versionId: string; chunkIds: string[] }> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO index_versions (collection_id, embedding_model, dimensions, status, hnsw_state, chunking)
     VALUES ($1, 'fake/embed', $2, 'ready', 'exact', '{"strategy":"recursive","chunk_size":2000,"chunk_overlap":0}'::jsonb) RETURNING id`,
    [collectionId, DIMENSIONS],
  );
  const versionId = r.rows[0]!.id;
  const old = await db.query<{ document_id: string; text: string; ordinal: number }>(`SELECT document_id, text, ordinal FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL ORDER BY ordinal`, [collectionId]);
  const chunkIds: string[] = [];
  for (let i = 0; i < old.rows.length; i += 2) {
    const text = old.rows.slice(i, i + 2).map((c) => c.text).join(' ');
    const chunk = await db.query<{ id: string }>(
      `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end, index_version_id) VALUES ($1, $2, $3, $4, 'sha', 0, $5, $6) RETURNING id`,
      [old.rows[i]!.document_id, collectionId, i / 2, text, text.length, versionId],
    );
    chunkIds.push(chunk.rows[0]!.id);
    await db.query(`INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending) VALUES ($1, $2, $3::vector, true)`, [chunk.rows[0]!.id, versionId, toVectorLiteral(fakeEmbedding(text, DIMENSIONS))]);
  }
  return { versionId, chunkIds };
}

const search = (collection: OwnedCollection, mode: SearchMode) =>
  runSearch(deps, { collection, query: 'when does the harbour open for ferries', topK: 5, mode, filters: { accessGroups: [] }, call });

test('a query that loaded the collection before a re-chunked version was activated reads the old version only', async () => {
  const seeded = await seedCollection(db, { teamId: 'team-a', name: 'harbour', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
  const oldChunks = new Set(seeded.chunkIds.flat());
  const before = await loadCollection(db, 'team-a', seeded.collectionId);
  const next = await buildRechunkedVersion(seeded.collectionId);
  expect(await db.transaction((tx) => activateIndexVersion(tx, seeded.collectionId, next.versionId))).toBe('activated');

  // Loaded before the switch: the old version's vectors with the old version's chunks.
  const vector = await search(before, 'vector');
  expect(vector.results.length).toBe(5);
  expect(vector.results.every((r) => oldChunks.has(r.chunkId))).toBe(true);
  // Hybrid: never the old vectors' hits fused with the new chunks' keyword hits.
  const hybrid = await search(before, 'hybrid');
  expect(hybrid.results.length).toBeGreaterThan(0);
  expect(hybrid.results.every((r) => oldChunks.has(r.chunkId))).toBe(true);

  // Loaded after: the new version, both legs.
  const after = await loadCollection(db, 'team-a', seeded.collectionId);
  expect(after.indexVersionId).toBe(next.versionId);
  const fresh = await search(after, 'hybrid');
  expect(fresh.results.length).toBe(3);
  expect(fresh.results.every((r) => next.chunkIds.includes(r.chunkId))).toBe(true);
  expect(Object.keys(fresh.trace.legs).sort()).toEqual(['keyword', 'vector']);
  // A keyword-only search has one leg and reads the active set: the new chunks.
  const keyword = await search(before, 'keyword');
  expect(keyword.results.length).toBeGreaterThan(0);
  expect(keyword.results.every((r) => next.chunkIds.includes(r.chunkId))).toBe(true);
});

test('filtered (exact) vector search of a query loaded before the switch reads the old version too', async () => {
  const seeded = await seedCollection(db, { teamId: 'team-a', name: 'harbour-2', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
  const before = await loadCollection(db, 'team-a', seeded.collectionId);
  const next = await buildRechunkedVersion(seeded.collectionId);
  await db.transaction((tx) => activateIndexVersion(tx, seeded.collectionId, next.versionId));
  const filtered = await runSearch(deps, { collection: before, query: 'ferries', topK: 5, mode: 'vector', filters: { document_ids: [seeded.documentIds[0]!], accessGroups: [] }, call });
  expect(filtered.results.length).toBe(5);
  expect(filtered.results.every((r) => seeded.chunkIds[0]!.includes(r.chunkId))).toBe(true);
});
