import { randomUUID } from 'node:crypto';
import type { Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { activateIndexVersion } from '@quire/index-versions';
import { createLogger, signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection } from '../testing/seed.js';

const ADMIN: Identity = { team_id: 'team-a', key_id: 'key-admin', role: 'admin', groups: [] };

let db: Db;
let harness: RetrievalHarness;

beforeAll(async () => {
  harness = await startRetrievalForTest({ deps: { logger: createLogger({ test: 'promotion-race' }, 'error') } });
  ({ db } = harness);
});
afterAll(() => harness?.close());

/** A ready version with the same vectors as `from`, so activating it is complete. */
async function copyVersion(collectionId: string, from: string): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status, hnsw_state) SELECT $1, collection_id, embedding_model, dimensions, 'ready', 'exact' FROM index_versions WHERE id = $2`, [id, from]);
  await db.query(`INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending) SELECT chunk_id, $1, embedding, true FROM chunk_vectors WHERE index_version_id = $2`, [id, from]);
  return id;
}

test('a promotion checked against one current version is refused when another switched the collection before it commits', async () => {
  const seeded = await seedCollection(db, { teamId: 'team-a', name: 'race', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
  const v1 = seeded.indexVersionId!;
  const v2 = await copyVersion(seeded.collectionId, v1);
  const v3 = await copyVersion(seeded.collectionId, v1);
  // Another promotion of v3 commits between this request's checks and its transaction.
  const original = db.transaction.bind(db);
  db.transaction = (async (fn: Parameters<Db['transaction']>[0]) => {
    db.transaction = original;
    await original((tx) => activateIndexVersion(tx, seeded.collectionId, v3));
    return original(fn);
  }) as Db['transaction'];
  try {
    const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/index-versions/${v2}/promote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(ADMIN, SECRET) },
      body: JSON.stringify({ force: true }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(409);
    expect(body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('switched index versions') });
  } finally {
    db.transaction = original;
  }
  const current = await db.query<{ current_index_version_id: string }>(`SELECT current_index_version_id FROM collections WHERE id = $1`, [seeded.collectionId]);
  expect(current.rows[0]!.current_index_version_id).toBe(v3);
  const recorded = await db.query(`SELECT 1 FROM index_version_promotions WHERE index_version_id = $1 AND outcome IN ('promoted', 'forced')`, [v2]);
  expect(recorded.rows).toEqual([]);
});
