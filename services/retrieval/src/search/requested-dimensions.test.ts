import type { Db } from '@quire/db';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { DIMENSIONS, HARBOUR_GUIDE, seedCollection } from '../testing/seed.js';

let db: Db;
let harness: RetrievalHarness;

beforeAll(async () => {
  // The model's native size is 64; the index version asked it for DIMENSIONS (32), as a
  // `dimensions` override does with text-embedding-3 models.
  harness = await startRetrievalForTest({ dimensions: 64 });
  ({ db } = harness);
});

afterAll(() => harness?.close());

test('a version built with a dimensions override is queried at that size', async () => {
  const seeded = await seedCollection(db, { teamId: 'team-a', name: 'dims', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
  await db.query('UPDATE index_versions SET requested_dimensions = $1 WHERE id = $2', [DIMENSIONS, seeded.indexVersionId]);
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity({ team_id: 'team-a', key_id: 'k', role: 'member', groups: [] }, SECRET) },
    body: JSON.stringify({ query: 'high tide at Port Zephyr', mode: 'vector', top_k: 2 }),
  });
  const body = (await res.json()) as { results: { document_id: string; scores: { vector?: number } }[] };
  expect(res.status).toBe(200);
  expect(body.results.length).toBeGreaterThan(0);
  expect(body.results[0]!.document_id).toBe(seeded.documentIds[0]);
  expect(body.results[0]!.scores.vector).toBeGreaterThan(0);
});
