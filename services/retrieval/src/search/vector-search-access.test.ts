import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { openTestDatabase } from '@quire/db';
import { hnswIndexName } from '@quire/index-versions';
import { toVectorLiteral, vectorSearch, type VectorSearchInput } from './vector-search.js';

/**
 * A caller who may read a small share of a large collection still gets `limit` vector hits. The graph
 * filters after its scan and its iterative scan stops at `hnsw.max_scan_tuples`, so for such a caller
 * it can come back short; the search must notice the access check is selective.
 *
 * At test size the planner may avoid the graph by itself, so this file makes the conditions of a
 * large collection explicit: sorts cost more than the graph's ordered scan (the planner takes the
 * graph, as it does when it expects most chunks to pass the filters), and a scan budget of 200
 * tuples stands for the default 20,000 over a collection a hundred times larger.
 */
const D = 8;

/** A vector near `sign` times the first axis, spread over the others so the graph has structure. */
function around(sign: number, seed: number): number[] {
  return [sign, ...Array.from({ length: D - 1 }, (_, k) => Math.sin(seed * 12.9898 + k * 78.233) * 0.5)];
}
const HIDDEN = 3000;
const VISIBLE = 24;
let db: Db;
let base: Omit<VectorSearchInput, 'filters' | 'limit'>;

beforeAll(async () => {
  db = await openTestDatabase();
  const collectionId = randomUUID();
  const versionId = randomUUID();
  await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO collections (id, team_id, name, embedding_model, embedding_dimensions, chunking, current_index_version_id) VALUES ($1, 't', 'big', 'fake/embed', $2, '{}'::jsonb, $3)`, [collectionId, D, versionId]);
    await tx.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status, hnsw_state) VALUES ($1, $2, 'fake/embed', $3, 'ready', 'inline')`, [versionId, collectionId, D]);
    // 30 restricted documents of 100 chunks, and 2 open ones of 12.
    await tx.query(
      `INSERT INTO documents (collection_id, team_id, title, mime_type, byte_size, content_sha256, status, access_groups)
       SELECT $1, 't', 'doc ' || g, 'text/plain', 1, 'sha', 'ready', CASE WHEN g <= 2 THEN '{}'::text[] ELSE '{board}'::text[] END FROM generate_series(1, 32) g`,
      [collectionId],
    );
    await tx.query(
      `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end)
       SELECT d.id, $1, o, d.title || ' part ' || o, 'sha', 0, 1 FROM documents d
       CROSS JOIN generate_series(0, 99) o WHERE d.collection_id = $1 AND (d.access_groups <> '{}' OR o < $2::int / 2)`,
      [collectionId, VISIBLE],
    );
    // The open chunks point away from the query, so the graph meets them last.
    const chunks = await tx.query<{ id: string; open: boolean }>(`SELECT c.id, d.access_groups = '{}' AS open FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.collection_id = $1`, [collectionId]);
    await tx.query(
      `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending)
       SELECT u.id, $1, u.v::vector, false FROM unnest($2::uuid[], $3::text[]) AS u(id, v)`,
      [versionId, chunks.rows.map((c) => c.id), chunks.rows.map((c, i) => toVectorLiteral(around(c.open ? -1 : 1, i)))],
    );
    await tx.query(`CREATE INDEX ${hnswIndexName(versionId)} ON chunk_vectors USING hnsw ((embedding::vector(${D})) vector_cosine_ops) WHERE index_version_id = '${versionId}'`);
  });
  await db.query('ANALYZE');
  await db.query('SET enable_sort = off');
  await db.query('SET hnsw.max_scan_tuples = 200');
  base = { collectionId, indexVersionId: versionId, dimensions: D, embedding: around(1, 0.5) };
});
afterAll(async () => {
  await db?.close();
});

test('the collection is as described: few of its chunks are open', async () => {
  const r = await db.query<{ open: number; all: number }>(
    `SELECT count(*) FILTER (WHERE d.access_groups = '{}')::int AS open, count(*)::int AS all FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.collection_id = $1`,
    [base.collectionId],
  );
  expect(r.rows[0]).toEqual({ open: VISIBLE, all: HIDDEN + VISIBLE });
});

test('a caller without the group gets top_k hits from the open documents', async () => {
  for (const limit of [10, VISIBLE]) {
    const hits = await vectorSearch(db, { ...base, limit, filters: { accessGroups: [] } as VectorSearchInput['filters'] });
    expect(hits).toHaveLength(limit);
  }
  // More asked than there are: all of them.
  expect(await vectorSearch(db, { ...base, limit: 40, filters: { accessGroups: ['sales'] } as VectorSearchInput['filters'] })).toHaveLength(VISIBLE);
});

test('a caller who may read everything still fills top_k through the graph', async () => {
  const hits = await vectorSearch(db, { ...base, limit: 10, filters: { accessGroups: ['board'] } as VectorSearchInput['filters'] });
  expect(hits).toHaveLength(10);
  expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
});

