import type { Db } from '@quire/db';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';

const identity = signIdentity({ team_id: 'team-a', key_id: 'k', role: 'member', groups: [] }, SECRET, 3600);
let db: Db;
let harness: RetrievalHarness;
let seeded: SeededCollection;

async function post(path: string, body: unknown) {
  const res = await fetch(`${harness.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-quire-identity': identity }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, any>;
}
async function get(path: string) {
  return (await (await fetch(`${harness.url}${path}`, { headers: { 'x-quire-identity': identity } })).json()) as Record<string, any>;
}

beforeAll(async () => {
  harness = await startRetrievalForTest();
  ({ db } = harness);
  seeded = await seedCollection(db, { teamId: 'team-a', name: 'trace', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
});

afterAll(() => harness?.close());

test('a search keeps the candidates and scores of each leg and of the fusion', async () => {
  const search = await post(`/v1/collections/${seeded.collectionId}/search`, { query: 'high tide at Port Zephyr', top_k: 2 });
  const stored = await get(`/v1/queries/${search.query_id}`);
  expect(Object.keys(stored.trace.legs).sort()).toEqual(['keyword', 'vector']);
  expect(stored.trace.legs.vector.length).toBeGreaterThan(0);
  expect(stored.trace.legs.keyword.length).toBeGreaterThan(0);
  // Top results are the head of the fused list, with the same scores.
  expect(stored.trace.fused.slice(0, search.results.length).map((c: any) => c.chunk_id)).toEqual(search.results.map((r: any) => r.chunk_id));
  expect(stored.trace.fused[0].score).toBeCloseTo(search.results[0].scores.fused, 12);
  const vectorOfTop = stored.trace.legs.vector.find((c: any) => c.chunk_id === search.results[0].chunk_id);
  expect(vectorOfTop.score).toBeCloseTo(search.results[0].scores.vector, 12);
});

test('an answer also records which chunks fit the context budget', async () => {
  const answer = await post(`/v1/collections/${seeded.collectionId}/answer`, { question: 'When is high tide at Port Zephyr?', top_k: 3 });
  const stored = await get(`/v1/queries/${answer.query_id}`);
  expect(stored.trace.in_context.length).toBeGreaterThan(0);
  expect(stored.trace.in_context).toEqual(stored.results.map((r: any) => r.chunk_id));
  for (const c of answer.citations) expect(stored.trace.in_context).toContain(c.chunk_id);
  expect(stored.trace.fused.length).toBeGreaterThanOrEqual(stored.trace.in_context.length);
});
