import type { Db } from '@quire/db';
import type { client } from '../../services/ingestion/src/testing/http.js';
import { startTestIngestion, type TestIngestion } from '../../services/ingestion/src/testing/test-ingestion.js';
import { scopeConditions } from '../../services/retrieval/src/search/scope-sql.js';

/**
 * Cross-service: ingestion builds and activates an index version with other chunking, and
 * retrieval's own scope predicate (`scopeConditions`) decides which chunks and vectors search sees.
 * It lives here because services do not import each other's code.
 */

let t: TestIngestion;
let db: Db;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  t = await startTestIngestion('rechunk-version');
  ({ db, api } = t);
});

afterAll(() => t?.stop());

const text = (topic: string, n = 30) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');

/** What retrieval's vector leg sees: its own scope predicate, the current version's vectors. */
async function searchable(collectionId: string) {
  const scope = scopeConditions(collectionId, undefined, 1);
  const r = await db.query<{ text: string; dims: number }>(
    `SELECT c.text, vector_dims(cv.embedding)::int AS dims FROM chunks c JOIN documents d ON d.id = c.document_id
       JOIN collections col ON col.id = c.collection_id
       JOIN chunk_vectors cv ON cv.chunk_id = c.id AND cv.index_version_id = col.current_index_version_id
      WHERE ${scope.sql}`,
    scope.params,
  );
  const bm25 = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM bm25_chunks WHERE collection_id = $1`, [collectionId]);
  return { rows: r.rows, maxLength: Math.max(...r.rows.map((x) => x.text.length)), bm25: bm25.rows[0]!.n };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a version with other chunking re-chunks from stored bytes; search keeps the old chunks until activation', async () => {
  const coll = await api.createCollection({ name: 'Rechunk', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
  const ids: string[] = [];
  for (const topic of ['alpha', 'beta']) {
    const r = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text(topic), title: topic } });
    ids.push(r.body.documents[0].id);
  }
  for (const id of ids) await api.waitForDocument(id);
  const before = await searchable(coll.id);
  expect(before.maxLength).toBeLessThanOrEqual(200);
  expect(before.bm25).toBe(before.rows.length);

  const created = await api.call(`/v1/collections/${coll.id}/index-versions`, {
    json: { embedding_model: 'openai/large', dimensions: 24, chunking: { strategy: 'recursive', chunk_size: 800, chunk_overlap: 0 }, activate: 'manual' },
  });
  expect(created.status).toBe(202);
  const vid = created.body.id as string;
  await waitFor(async () => {
    const r = await api.call(`/v1/collections/${coll.id}/index-versions`);
    return r.body.data.find((v: { id: string; status: string }) => v.id === vid && v.status === 'ready');
  });

  // Built but not active: search still reads only the old chunk set and the old version's vectors.
  const during = await searchable(coll.id);
  expect(during.rows.length).toBe(before.rows.length);
  expect(during.maxLength).toBeLessThanOrEqual(200);
  expect(during.rows.every((r) => r.dims === 32)).toBe(true);
  const own = await db.query<{ n: number; longest: number; dims: number }>(
    `SELECT count(*)::int AS n, max(length(ch.text))::int AS longest, min(vector_dims(cv.embedding))::int AS dims
       FROM chunks ch JOIN chunk_vectors cv ON cv.chunk_id = ch.id AND cv.index_version_id = $1 WHERE ch.index_version_id = $1`,
    [vid],
  );
  expect(own.rows[0]!.n).toBeGreaterThan(0);
  expect(own.rows[0]!.n).toBeLessThan(before.rows.length);
  expect(own.rows[0]!.longest).toBeGreaterThan(200);
  // The `dimensions` override was asked of the model (the fake honours it, like text-embedding-3).
  expect(own.rows[0]!.dims).toBe(24);

  const activated = await api.call(`/v1/collections/${coll.id}/index-versions/${vid}/activate`, { json: {} });
  expect(activated.status).toBe(200);
  const after = await searchable(coll.id);
  expect(after.rows.length).toBe(own.rows[0]!.n);
  expect(after.maxLength).toBeGreaterThan(200);
  expect(after.rows.every((r) => r.dims === 24)).toBe(true);
  expect(after.bm25).toBe(after.rows.length);
  const collection = (await api.call(`/v1/collections/${coll.id}`)).body;
  expect(collection.chunking).toMatchObject({ chunk_size: 800 });

  // New uploads now use the new chunking and version.
  const late = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('gamma'), title: 'gamma' } });
  await api.waitForDocument(late.body.documents[0].id);
  const final = await searchable(coll.id);
  expect(final.rows.every((r) => r.dims === 24)).toBe(true);
  expect(final.bm25).toBe(final.rows.length);
});
