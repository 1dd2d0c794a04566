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

test('judgments stay as they are on the active set, by document, and fall back to documents when a chunk maps to nothing', async () => {
  const relevant = [{ chunk_id: seeded.chunkIds[0]![2]!, document_id: seeded.documentIds[0]!, grade: 2 }];
  expect(await relevantInChunkSet(db, relevant, null)).toBe(relevant);
  const byDocument = [{ document_id: seeded.documentIds[1]!, grade: 1 }];
  expect(await relevantInChunkSet(db, byDocument, versionId)).toBe(byDocument);
  // A judged chunk whose row is gone: the case is judged per document (taken from the entry).
  const gone = [...relevant, { chunk_id: randomUUID(), document_id: seeded.documentIds[1]!, grade: 1 }];
  expect(await relevantInChunkSet(db, gone, versionId)).toEqual([
    { document_id: seeded.documentIds[0], grade: 2 },
    { document_id: seeded.documentIds[1], grade: 1 },
  ]);
});
