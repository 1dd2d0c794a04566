import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { HIDES_DOCUMENTS_SQL, hidesDocuments } from './vector-search.js';

/**
 * Whether the collection hides a ready document from the caller's groups: asked on every vector
 * search with groups, so it reads documents, not replacement rows, through a partial index.
 */
let db: Db;
let collectionId: string;
let documentId: string;

beforeAll(async () => {
  db = await openTestDatabase();
  collectionId = randomUUID();
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 't', 'hides', '{}'::jsonb)`, [collectionId]);
  const doc = await db.query<{ id: string }>(
    `INSERT INTO documents (collection_id, team_id, title, mime_type, byte_size, content_sha256, status) VALUES ($1, 't', 'open', 'text/plain', 1, 'sha', 'ready') RETURNING id`,
    [collectionId],
  );
  documentId = doc.rows[0]!.id;
});

afterAll(async () => {
  await db?.close();
});

const insert = (accessGroups: string[], extra: { status?: string; replaces?: string } = {}) =>
  db.query<{ id: string }>(
    `INSERT INTO documents (collection_id, team_id, title, mime_type, byte_size, content_sha256, status, access_groups, replaces_document_id)
     VALUES ($1, 't', 'd', 'text/plain', 1, 'sha', $2, $3, $4) RETURNING id`,
    [collectionId, extra.status ?? 'ready', accessGroups, extra.replaces ?? null],
  );

test('a ready replacement pointer with groups hides nothing; a restricted ready document does, except from its group', async () => {
  expect(await hidesDocuments(db, collectionId, ['sales'])).toBe(false);
  // The pointer a swapped-in replacement leaves, restricted, like the document it now points to.
  await insert(['board'], { replaces: documentId });
  await insert(['board'], { status: 'processing' });
  expect(await hidesDocuments(db, collectionId, ['sales'])).toBe(false);

  await insert(['board']);
  expect(await hidesDocuments(db, collectionId, ['sales'])).toBe(true);
  expect(await hidesDocuments(db, collectionId, ['board'])).toBe(false);
});

test("the question is answered from the partial index (migration 0016), not the collection's documents", async () => {
  await db.query('SET enable_seqscan = off');
  try {
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${HIDES_DOCUMENTS_SQL}`,
      [collectionId, ['sales']],
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('documents_restricted_idx');
  } finally {
    await db.query('RESET enable_seqscan');
  }
});
