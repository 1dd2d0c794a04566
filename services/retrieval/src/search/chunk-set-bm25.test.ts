import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { DRAFT, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { AppError } from '@quire/server-kit';
import { createBm25KeywordRetriever } from './bm25-retriever.js';
import { assertChunkSetIndexable, createChunkSetBm25, indexChunkSet, MAX_CHUNK_SET_CHUNKS } from './chunk-set-bm25.js';
import type { KeywordRetriever } from './keyword-retriever.js';

/**
 * An index version's own chunk set has no BM25 postings; it is searched in memory
 * (`chunk-set-bm25.ts`). Given the same texts, it must rank and score exactly as the postings do.
 */
let db: Db;
let seeded: SeededCollection;
let versionId: string;
let retriever: KeywordRetriever;
/** The version's copy of each active chunk, by the active chunk's id. */
const copyOf = new Map<string, string>();

beforeAll(async () => {
  db = await openTestDatabase();
  seeded = await seedCollection(db, { teamId: 'team-k', name: 'chunk sets', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES, DRAFT] });
  versionId = randomUUID();
  await db.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status) VALUES ($1, $2, 'fake/embed', 32, 'ready')`, [versionId, seeded.collectionId]);
  // The version's own set: the same texts under new ids, as a re-chunking build with unchanged output would write.
  const copies = await db.query<{ id: string; active: string }>(
    `WITH src AS (SELECT c.*, gen_random_uuid() AS new_id FROM chunks c WHERE c.collection_id = $1 AND c.index_version_id IS NULL),
          ins AS (INSERT INTO chunks (id, document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end)
                  SELECT new_id, document_id, collection_id, $2, ordinal, text, content_sha256, char_start, char_end FROM src RETURNING id)
     SELECT new_id AS id, id AS active FROM src`,
    [seeded.collectionId, versionId],
  );
  for (const r of copies.rows) copyOf.set(r.active, r.id);
  retriever = createBm25KeywordRetriever(db);
});

afterAll(async () => {
  await db?.close();
});

const QUERIES = ['harbour', 'high tide Port Zephyr', 'moor* harbour', '"port zephyr" tide', 'soil compost soil', 'nothing matches this'];

test.each(QUERIES)('the version set ranks and scores %p as the postings rank the same texts', async (query) => {
  const active = await retriever.search(seeded.collectionId, query, 10);
  const version = await retriever.search(seeded.collectionId, query, 10, undefined, { chunkSetVersionId: versionId });
  // Equal scores tie-break on chunk id, which differs between the copies: compare in one order.
  const inOrder = (hits: { chunkId: string; score: number }[]) => hits.map((h) => `${h.score.toFixed(9)} ${h.chunkId}`).sort();
  expect(inOrder(version)).toEqual(inOrder(active.map((h) => ({ chunkId: copyOf.get(h.chunkId)!, score: h.score }))));
  expect(version.map((h) => h.score)).toEqual([...version.map((h) => h.score)].sort((a, b) => b - a));
});

test('the version set keeps to its chunks and the same scope: ready documents and the caller\'s filters', async () => {
  const all = await retriever.search(seeded.collectionId, 'tide', 10, undefined, { chunkSetVersionId: versionId });
  const ids = new Set(copyOf.values());
  expect(all.length).toBeGreaterThan(0);
  expect(all.every((h) => ids.has(h.chunkId))).toBe(true);
  // The draft (still processing) mentions Port Zephyr's tide too, and is never found.
  const draft = seeded.chunkIds[2]!.map((id) => copyOf.get(id));
  expect(all.some((h) => draft.includes(h.chunkId))).toBe(false);
  const garden = await retriever.search(seeded.collectionId, 'tide soil', 10, { document_ids: [seeded.documentIds[1]!] }, { chunkSetVersionId: versionId });
  expect(garden.length).toBeGreaterThan(0);
  expect(garden.every((h) => seeded.chunkIds[1]!.map((id) => copyOf.get(id)).includes(h.chunkId))).toBe(true);
});

test('chunks written to the version later are found (the index follows the version)', async () => {
  expect(await retriever.search(seeded.collectionId, 'lighthouse keeper', 10, undefined, { chunkSetVersionId: versionId })).toHaveLength(1);
  await db.query(
    `INSERT INTO chunks (document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, $3, 100, 'The lighthouse keeper logs every ship.', 'sha', 0, 10)`,
    [seeded.documentIds[0], seeded.collectionId, versionId],
  );
  // No bump of the version by hand: the insert itself moves its chunk-set generation.
  expect(await retriever.search(seeded.collectionId, 'lighthouse keeper', 10, undefined, { chunkSetVersionId: versionId })).toHaveLength(2);
});

test('a deleted or replaced document leaves the version set\'s index: scores equal those of a fresh index', async () => {
  const extra = { title: 'Harbour Extra', chunks: [{ text: 'Harbour harbour harbour: the tide table and the harbour master.' }, { text: 'Ferries wait for the tide.' }] };
  const other = await seedCollection(db, { teamId: 'team-k', name: 'chunk sets, deletes', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES, extra] });
  const version = randomUUID();
  await db.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status) VALUES ($1, $2, 'fake/embed', 32, 'ready')`, [version, other.collectionId]);
  await db.query(
    `INSERT INTO chunks (document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end)
     SELECT document_id, collection_id, $2, ordinal, text, content_sha256, char_start, char_end FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL`,
    [other.collectionId, version],
  );
  const cached = createChunkSetBm25(db);
  const search = (bm25: typeof cached) => bm25.search(other.collectionId, version, 'harbour tide', { limit: 20, analyzer: 'english' });
  const scores = (hits: { chunkId: string; score: number }[]) => Object.fromEntries(hits.map((h) => [h.chunkId, h.score]));
  const before = scores(await search(cached));

  // A delete, as deleteDocument runs it: the document's chunks of every set go by cascade.
  await db.query(`DELETE FROM documents WHERE id = $1`, [other.documentIds[2]]);
  const afterDelete = scores(await search(cached));
  expect(afterDelete).toEqual(scores(await search(createChunkSetBm25(db))));
  // The remaining chunks' scores moved (N, df and the average length lost the deleted chunks).
  const kept = Object.keys(afterDelete);
  expect(kept.length).toBeGreaterThan(0);
  expect(kept.some((id) => before[id] !== afterDelete[id])).toBe(true);

  // A replacement's swap deletes the document's chunks of every set and writes new active ones only.
  await db.query(`DELETE FROM chunks WHERE document_id = $1`, [other.documentIds[1]]);
  const afterReplace = scores(await search(cached));
  expect(afterReplace).toEqual(scores(await search(createChunkSetBm25(db))));
  expect(Object.keys(afterReplace).some((id) => afterDelete[id] !== afterReplace[id])).toBe(true);

  // An UPDATE of the set's chunks (an activation relabels them) moves the generation too. Deleting
  // the version, or the collection, takes its set by cascade with the trigger finding no row to bump.
  const generation = async () => (await db.query<{ g: string }>(`SELECT chunk_set_generation::text AS g FROM index_versions WHERE id = $1`, [version])).rows[0]?.g;
  const g0 = await generation();
  await db.query(`UPDATE chunks SET text = text || ' Updated.' WHERE index_version_id = $1`, [version]);
  expect(Number(await generation())).toBeGreaterThan(Number(g0));
  await db.query(`DELETE FROM index_versions WHERE id = $1`, [version]);
  expect(await generation()).toBeUndefined();
  await db.query(`DELETE FROM collections WHERE id = $1`, [other.collectionId]);
});

test('a set over the cap is refused with a 400 saying what to do, before any text is read', async () => {
  const small = createChunkSetBm25(db, { maxChunks: 3 });
  const error = await small.search(seeded.collectionId, versionId, 'harbour', { limit: 10, analyzer: 'english' }).catch((e: unknown) => e);
  expect(AppError.is(error)).toBe(true);
  const e = error as AppError;
  expect(e.status).toBe(400);
  expect(e.code).toBe('invalid_request');
  expect(e.details).toMatchObject({ reason: 'chunk_set_too_large', index_version_id: versionId, max_chunks: 3 });
  expect(e.message).toMatch(/activate the version .* vector mode/);
  // The same check the benchmark route runs on creation; the default cap admits this set.
  await expect(assertChunkSetIndexable(db, seeded.collectionId, versionId, 3)).rejects.toMatchObject({ code: 'invalid_request', details: { reason: 'chunk_set_too_large' } });
  expect(await assertChunkSetIndexable(db, seeded.collectionId, versionId)).toBeLessThanOrEqual(MAX_CHUNK_SET_CHUNKS);
});

test('indexing yields to the event loop between slices of chunks', async () => {
  const chunks = Array.from({ length: 2000 }, (_, i) => ({ id: `c${i}`, text: `harbour tide ferry pier number ${i} word${i % 97}` }));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const index = await indexChunkSet(chunks, 'english');
  clearInterval(timer);
  expect(index.ids).toHaveLength(2000);
  expect(ticks).toBeGreaterThan(0);
});

test("a token's accent-folded form is indexed at its position but does not lengthen the chunk, as in the postings", async () => {
  const index = await indexChunkSet([{ id: 'a', text: 'Le télétravail autorisé' }], 'english');
  expect(index.lengths).toEqual([3]);
  expect(index.postings.get('teletravail')).toEqual([{ chunk: 0, tf: 1, positions: [1] }]);
  expect(index.postings.get('télétravail')).toEqual([{ chunk: 0, tf: 1, positions: [1] }]);
});
