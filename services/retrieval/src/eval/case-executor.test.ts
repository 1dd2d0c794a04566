import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { relevantInChunkSet, scoreRetrieval } from './case-executor.js';

/**
 * A case judged by chunk (a synthetic set) names active chunks; a configuration that reads a
 * re-chunked version's own set ranks other chunk ids, and must still be scored on the same passage.
 */
let db: Db;
let seeded: SeededCollection;
let versionId: string;
/** The version's chunks: each active chunk split in two halves, by the active chunk's id. */
const halvesOf = new Map<string, string[]>();

beforeAll(async () => {
  db = await openTestDatabase();
  seeded = await seedCollection(db, { teamId: 'team-ce', name: 'rechunked', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
  versionId = randomUUID();
  await db.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status) VALUES ($1, $2, 'fake/embed', 32, 'ready')`, [versionId, seeded.collectionId]);
  const active = await db.query<{ id: string; document_id: string; ordinal: number; text: string; char_start: number; char_end: number }>(
    `SELECT id, document_id, ordinal, text, char_start, char_end FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL`,
    [seeded.collectionId],
  );
  for (const c of active.rows) {
    const mid = Math.floor(c.text.length / 2);
    const ids: string[] = [];
    for (const [i, [from, to]] of [[0, mid], [mid, c.text.length]].entries()) {
      const id = randomUUID();
      ids.push(id);
      await db.query(
        `INSERT INTO chunks (id, document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, $3, $4, $5, $6, 'sha', $7, $8)`,
        [id, c.document_id, seeded.collectionId, versionId, c.ordinal * 2 + i, c.text.slice(from, to), c.char_start + from!, c.char_start + to!],
      );
    }
    halvesOf.set(c.id, ids);
  }
});

afterAll(async () => {
  await db?.close();
});

test('a chunk judgment maps to the version chunks covering the passage, and the version scores on it', async () => {
  const judged = seeded.chunkIds[0]![2]!;
  const relevant = [{ chunk_id: judged, document_id: seeded.documentIds[0]!, grade: 1 }];
  const mapped = await relevantInChunkSet(db, relevant, versionId);
  // Both halves of the passage, not the neighbouring chunks (which end one character before it).
  expect(mapped.map((r) => r.chunk_id).sort()).toEqual([...halvesOf.get(judged)!].sort());
  expect(mapped.every((r) => r.document_id === seeded.documentIds[0] && r.grade === 1)).toBe(true);

  const ranked = [{ chunk_id: halvesOf.get(seeded.chunkIds[1]![0]!)![0]!, document_id: seeded.documentIds[1]! }, ...halvesOf.get(judged)!.map((id) => ({ chunk_id: id, document_id: seeded.documentIds[0]! }))];
  // Scored against the active chunk id, the version's ranking scores 0; against the mapped judgment it does not.
  expect(scoreRetrieval(ranked, relevant, 10)!['recall@10']).toBe(0);
  const scored = scoreRetrieval(ranked, mapped, 10)!;
  expect(scored['recall@10']).toBe(1);
  expect(scored['ndcg@10']).toBeGreaterThan(0.5);
});

test('judgments stay as they are on a set that holds them, and by document; a chunk that maps to nothing leaves the case unjudged', async () => {
  const relevant = [{ chunk_id: seeded.chunkIds[0]![2]!, document_id: seeded.documentIds[0]!, grade: 2 }];
  expect(await relevantInChunkSet(db, relevant, null)).toBe(relevant);
  const byDocument = [{ document_id: seeded.documentIds[1]!, grade: 1 }];
  expect(await relevantInChunkSet(db, byDocument, versionId)).toBe(byDocument);
  // Judged on the version's chunks (as after a rollback), searched on that version: unchanged.
  const onVersion = halvesOf.get(seeded.chunkIds[0]![2]!)!.map((id) => ({ chunk_id: id, document_id: seeded.documentIds[0]!, grade: 1 }));
  expect(await relevantInChunkSet(db, onVersion, versionId)).toBe(onVersion);
  // A judged chunk whose row is gone: nothing to map it to, so the case is unjudged (null), not a certain miss.
  const gone = [...relevant, { chunk_id: randomUUID(), document_id: seeded.documentIds[1]!, grade: 1 }];
  expect(await relevantInChunkSet(db, gone, versionId)).toEqual([]);
  expect(await relevantInChunkSet(db, gone, null)).toEqual([]);
  expect(scoreRetrieval([{ chunk_id: seeded.chunkIds[0]![2]!, document_id: seeded.documentIds[0]! }], await relevantInChunkSet(db, gone, null), 10)).toBeNull();
});

test('judgments made on another set map onto the active set (a re-chunked version activated since)', async () => {
  // The judged chunk is a piece of the version (the set active when it was judged, relabelled since);
  // the active chunk holding it stands for it.
  const judged = seeded.chunkIds[1]![0]!;
  const half = halvesOf.get(judged)![1]!;
  const relevant = [{ chunk_id: half, document_id: seeded.documentIds[1]!, grade: 1 }];
  const mapped = await relevantInChunkSet(db, relevant, null);
  expect(mapped).toEqual([{ chunk_id: judged, document_id: seeded.documentIds[1], grade: 1, passage: half }]);
  const scored = scoreRetrieval([{ chunk_id: judged, document_id: seeded.documentIds[1]! }], mapped, 10)!;
  expect(scored['ndcg@10']).toBe(1);
  expect(scored['recall@10']).toBe(1);

  // A judged chunk no chunk of the searched set covers (text past the end of every active chunk): unjudged.
  const stray = randomUUID();
  await db.query(
    `INSERT INTO chunks (id, document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, $3, $4, 9999, 'stray', 'sha', 1000000, 1000005)`,
    [stray, seeded.documentIds[1], seeded.collectionId, versionId],
  );
  expect(await relevantInChunkSet(db, [...relevant, { chunk_id: stray, document_id: seeded.documentIds[1]!, grade: 1 }], null)).toEqual([]);
  await db.query(`DELETE FROM chunks WHERE id = $1`, [stray]);
});

test('a judged passage counts once, however many chunks of the searched set it was split into', async () => {
  const judged = seeded.chunkIds[0]![2]!;
  const other = seeded.chunkIds[1]![0]!;
  const relevant = [{ chunk_id: judged, document_id: seeded.documentIds[0]!, grade: 2 }];
  const mapped = await relevantInChunkSet(db, relevant, versionId);
  expect(mapped).toHaveLength(2);
  expect(mapped.every((r) => r.passage === judged)).toBe(true);
  const [h1, h2] = halvesOf.get(judged)!;
  const noise = halvesOf.get(other)![0]!;
  const item = (id: string) => ({ chunk_id: id, document_id: seeded.documentIds[0]! });
  // The version ranking the passage first scores as the active set ranking the judged chunk first.
  const onActive = scoreRetrieval([item(judged), item(other)], relevant, 10)!;
  expect(onActive['ndcg@10']).toBe(1);
  expect(scoreRetrieval([item(h1!), item(noise), item(h2!)], mapped, 10)).toEqual(onActive);
  expect(scoreRetrieval([item(h2!), item(h1!), item(noise)], mapped, 10)).toEqual(onActive);
  // One half alone is the passage found: full recall, not 1 of 2.
  expect(scoreRetrieval([item(noise), item(h2!)], mapped, 10)).toEqual(scoreRetrieval([item(other), item(judged)], relevant, 10));
});

test('a chunk covering two judged passages is credited with one of them, the higher graded', () => {
  const [big, small, p1, p2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const doc = randomUUID();
  const mapped = [
    { chunk_id: big, document_id: doc, grade: 1, passage: p1 },
    { chunk_id: big, document_id: doc, grade: 2, passage: p2 },
    { chunk_id: small, document_id: doc, grade: 1, passage: p1 },
  ];
  const alone = scoreRetrieval([{ chunk_id: big, document_id: doc }], mapped, 10)!;
  expect(alone['recall@10']).toBe(0.5);
  expect(alone['ndcg@10']).toBeCloseTo(2 / (2 + 1 / Math.log2(3)), 10);
  const both = scoreRetrieval([{ chunk_id: big, document_id: doc }, { chunk_id: small, document_id: doc }], mapped, 10)!;
  expect(both['recall@10']).toBe(1);
  expect(both['ndcg@10']).toBe(1);
});
