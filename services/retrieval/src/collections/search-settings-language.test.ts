import { HEADERS, type Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * A committed change of `search_settings.language` makes the collection's postings stale: retrieval
 * tells ingestion (`keywordIndexChanged`, wired in the embedded mode), which rebuilds them. Other
 * settings leave the postings as they are.
 */
const WRITER: Identity = { team_id: 'language-a', key_id: 'key-writer', role: 'knowledge-admin', groups: [] };

let harness: RetrievalHarness;
let seeded: SeededCollection;
const told: string[] = [];

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      seeded = await seedCollection(db, { teamId: WRITER.team_id, name: 'language', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
    },
    deps: { keywordIndexChanged: (id) => told.push(id) },
  });
});
afterAll(() => harness?.close());

async function put(body: unknown): Promise<number> {
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/search-settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', [HEADERS.identity]: signIdentity(WRITER, SECRET) },
    body: JSON.stringify(body),
  });
  return res.status;
}

test('a language change is told once it commits; other settings, or the same analyser spelled otherwise, are not', async () => {
  expect(await put({ preset: 'keyword-heavy' })).toBe(200);
  expect(await put({ preset: 'keyword-heavy', language: 'english' })).toBe(200);
  expect(told).toEqual([]);
  expect(await put({ language: 'simple' })).toBe(200);
  expect(told).toEqual([seeded.collectionId]);
  expect(await put({ language: 'simple', preset: 'semantic-heavy' })).toBe(200);
  expect(await put({})).toBe(200);
  expect(told).toEqual([seeded.collectionId, seeded.collectionId]);
  // A refused PUT commits nothing and tells nothing.
  expect(await put({ language: 'klingon' })).toBe(400);
  expect(told).toHaveLength(2);
});
